"""The 2-D Grid LSTM baseline (seq_plugins/modules/grid_lstm.py, --arch grid_lstm)."""
import pytest
import torch

from seq_cli import UsageError
from seq_plugins.modules.grid_lstm import GridLSTM


def make(layers=2, seed=0):
    torch.manual_seed(seed)
    return GridLSTM(5, 7, num_layers=layers)


def lstm(gates, memory):
    i, f, g, o = gates.chunk(4, dim=-1)
    memory = f.sigmoid() * memory + i.sigmoid() * g.tanh()
    return o.sigmoid() * memory.tanh(), memory


def test_one_layer_follows_the_grid_lstm_equations_for_two_steps():
    grid = make(layers=1)
    x = torch.randn(2, 3, 5)
    outputs, (h, m) = grid(x)
    W, b = grid.gates[0].weight, grid.gates[0].bias
    h_time = m_time = torch.zeros(3, 7)
    for t in range(2):
        H = torch.cat([h_time, grid.input_projection(x[t])], dim=-1)  # [time hidden; depth hidden = the input]
        gates = H @ W.T + b
        h_time, m_time = lstm(gates[:, :28], m_time)  # the time LSTM keeps its own memory
        h_depth, _ = lstm(gates[:, 28:], torch.zeros(3, 7))  # the depth memory enters at zero below layer 1
        torch.testing.assert_close(outputs[t], h_depth)
    torch.testing.assert_close(h[0], h_time)
    torch.testing.assert_close(m[0], m_time)


def test_outputs_depend_on_the_past_only_and_the_state_continues_a_sequence():
    grid = make(layers=3)
    x = torch.randn(6, 2, 5)
    outputs, _ = grid(x)
    changed = x.clone()
    changed[4] += 1
    outputs_changed, _ = grid(changed)
    assert torch.equal(outputs[:4], outputs_changed[:4]) and not torch.equal(outputs[4:], outputs_changed[4:])
    first, state = grid(x[:3])
    second, _ = grid(x[3:], state)
    torch.testing.assert_close(torch.cat([first, second]), outputs)


def test_every_parameter_gets_a_gradient_and_layers_are_separate():
    grid = make(layers=2)
    outputs, (h, m) = grid(torch.randn(4, 3, 5))
    (outputs.sum() + h.sum() + m.sum()).backward()
    for name, parameter in grid.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert grid.gates[0].weight.data_ptr() != grid.gates[1].weight.data_ptr()


def test_bad_layer_count_is_a_usage_error():
    from seq_plugins.models.recurrent_labeller import GridLSTMConfig, GridLSTMLabeller

    with pytest.raises(UsageError, match="--num-layers must be at least 1, got 0"):
        GridLSTMLabeller.build_recurrence(GridLSTMConfig(num_layers=0), 4)
