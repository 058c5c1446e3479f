"""A 2-D Grid LSTM (Kalchbrenner, Danihelka & Graves 2015, "Grid Long Short-Term Memory") over time and depth, the
GridLSTM baseline of RigLSTM (docs/riglstm.md, "GridLSTM baseline").

Each block (time t, layer l) receives a hidden vector and a memory along each dimension: (h_time, m_time) from
(t - 1, l) and (h_depth, m_depth) from (t, l - 1). It concatenates the two hidden vectors, H = [h_time; h_depth],
and applies one LSTM transform per dimension to H with that dimension's own memory and weights; the results go on
along their dimension. The input enters as the hidden vector along depth below layer 1 (a linear projection of
x_t, memory zero); the output at t is the depth hidden vector of the top layer.
"""
import torch
from torch import nn

from seq_plugins.modules.cell_groups import lstm_update


class GridLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=2):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.output_size = hidden_size
        self.input_projection = nn.Linear(input_size, hidden_size)
        # per layer: the gates of the time LSTM and of the depth LSTM, both read H, in one product
        self.gates = nn.ModuleList(nn.Linear(2 * hidden_size, 8 * hidden_size) for _ in range(num_layers))

    def forward(self, x, state=None):
        """x: (time, batch, input) -> outputs (time, batch, hidden), and the time state (h, m), each
        (layers, batch, hidden), that a next call can continue from."""
        if state is None:
            zeros = x.new_zeros(self.num_layers, x.size(1), self.hidden_size)
            state = (zeros, zeros)
        h_time, m_time = list(state[0]), list(state[1])
        outputs = []
        for h_depth in self.input_projection(x):
            m_depth = torch.zeros_like(h_depth)
            for layer, gates in enumerate(self.gates):
                time_gates, depth_gates = gates(torch.cat([h_time[layer], h_depth], dim=-1)).chunk(2, dim=-1)
                h_time[layer], m_time[layer] = lstm_update(time_gates, m_time[layer])
                h_depth, m_depth = lstm_update(depth_gates, m_depth)
            outputs.append(h_depth)
        return torch.stack(outputs), (torch.stack(h_time), torch.stack(m_time))
