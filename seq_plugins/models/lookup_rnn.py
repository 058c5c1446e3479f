"""``--arch lookup_rnn``: one layer of tanh units, h_0 = 0, h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), read at the
last step by tanh outputs y = tanh(W_hy h_T + b_y) (Rumelhart, Hinton & Williams 1986).

Weights are drawn from ``numpy.random.default_rng(--seed)`` in the order W_xh = s N(H, 5), W_hh = s 0.7/sqrt(H)
N(H, H), W_hy = s N(3, H), biases 0 (s = ``--init-scale``), and kept in float64 like the NumPy reference, so the
trajectory can be compared with it number for number. Inputs arrive as letter indices and are made one-hot here.
"""
from dataclasses import dataclass, field

import numpy as np
import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.models import BaseFairseqModel, register_model
from omegaconf import II

from seq_cli import UsageError
from seq_plugins.tasks.sequence_lookup import LETTERS, N_BITS


@dataclass
class LookupRNNConfig(FairseqDataclass):
    hidden_units: int = field(default=30, metadata={"help": "tanh units H"})
    init_scale: float = field(default=0.5, metadata={"help": "scale s of the initial weights"})
    seed: int = II("common.seed")


@register_model("lookup_rnn", dataclass=LookupRNNConfig)
class LookupRNN(BaseFairseqModel):
    def __init__(self, hidden_units, init_scale, seed, n_inputs=len(LETTERS), n_outputs=N_BITS):
        super().__init__()
        rng = np.random.default_rng(seed)
        s, h = init_scale, hidden_units

        def parameter(array):
            return torch.nn.Parameter(torch.from_numpy(np.asarray(array, dtype=np.float64)))

        self.w_xh = parameter(s * rng.standard_normal((h, n_inputs)))
        self.w_hh = parameter(s * 0.7 / np.sqrt(h) * rng.standard_normal((h, h)))
        self.w_hy = parameter(s * rng.standard_normal((n_outputs, h)))
        self.b_h = parameter(np.zeros(h))
        self.b_y = parameter(np.zeros(n_outputs))

    @classmethod
    def build_model(cls, cfg, task):
        if cfg.hidden_units < 1:
            raise UsageError(f"--hidden-units must be at least 1, got {cfg.hidden_units}")
        return cls(cfg.hidden_units, cfg.init_scale, cfg.seed)

    def forward(self, src_tokens, src_lengths, return_states=False):
        """Outputs (batch, 3) read at each sequence's last step; with ``return_states`` also the hidden states
        (batch, steps, H). States past a sequence's end (its padding) are computed but never read."""
        one_hot = torch.nn.functional.one_hot(src_tokens, self.w_xh.size(1)).to(self.w_xh.dtype)
        inputs = (one_hot @ self.w_xh.t() + self.b_h).unbind(1)
        w_hh = self.w_hh.t()
        h = torch.tanh(inputs[0])  # h_0 = 0, so the first step has no recurrent term
        states = [h]
        for x in inputs[1:]:
            h = torch.tanh(torch.addmm(x, h, w_hh))
            states.append(h)
        if int(src_lengths.min()) < len(inputs):  # variable timing: each sequence's own last step
            h = torch.stack(states, dim=1)[torch.arange(len(h)), src_lengths - 1]
        outputs = torch.tanh(torch.addmm(self.b_y, h, self.w_hy.t()))
        return (outputs, torch.stack(states, dim=1)) if return_states else outputs

    def max_positions(self):
        return None
