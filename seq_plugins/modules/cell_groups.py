"""Pieces shared by recurrent networks made of N independent cells (RigLSTM, RIM): per-cell weights applied to all
cells by one batched matrix product, top-k masks, and the loop over time."""
import math

import torch
from torch import nn


class GroupedLinear(nn.Module):
    """N independent linear maps, one per cell: (batch, N, in) -> (batch, N, out) in one batched product."""

    def __init__(self, groups, in_features, out_features, bias=True):
        super().__init__()
        bound = 1 / math.sqrt(in_features)  # nn.Linear's and nn.LSTM's default range
        self.weight = nn.Parameter(torch.empty(groups, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(groups, out_features).uniform_(-bound, bound)) if bias else None

    def forward(self, x):
        y = torch.bmm(x.transpose(0, 1), self.weight).transpose(0, 1)
        return y + self.bias if self.bias is not None else y


def top_k_mask(scores, k):
    """Boolean mask of the k largest entries along the last dimension (all True when k covers it)."""
    if k >= scores.size(-1):
        return torch.ones_like(scores, dtype=torch.bool)
    index = scores.topk(k, dim=-1).indices
    return torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, index, True)


def keep_top_k(scores, k):
    """The scores with everything but the k largest along the last dimension set to -inf."""
    return scores.masked_fill(~top_k_mask(scores, k), float("-inf"))


class GroupedRecurrence(nn.Module):
    """A recurrence over N cells of size ``cell_size``; subclasses define ``prepare`` (input-only work for the whole
    sequence at once) and ``step``. The state is (h, c), each (batch, N, cell_size)."""

    num_cells: int
    cell_size: int

    @property
    def output_size(self):
        return self.num_cells * self.cell_size

    def initial_state(self, batch, reference):
        zeros = reference.new_zeros(batch, self.num_cells, self.cell_size)
        return zeros, zeros

    def forward(self, x, state=None, step_mask=None, return_active=False):
        """x: (time, batch, input). step_mask: (time, batch) bool, False where a step is padding (every cell then
        keeps its state). Returns outputs (time, batch, N * cell_size), the final state and, if asked, the active
        masks (time, batch, N)."""
        if state is None:
            state = self.initial_state(x.size(1), x)
        # unbind, not p[t]: the backward of indexing step t writes a zero tensor of the whole sequence's size, which
        # made the backward pass quadratic in the length
        prepared = list(zip(*(p.unbind(0) for p in self.prepare(x))))
        outputs, actives = [], []
        for t in range(x.size(0)):
            state, active = self.step(prepared[t], state, None if step_mask is None else step_mask[t])
            outputs.append(state[0].flatten(1))
            actives.append(active)
        outputs = torch.stack(outputs)
        return (outputs, state, torch.stack(actives)) if return_active else (outputs, state)


def lstm_update(gates, c):
    """The LSTM cell's candidate (h, c) from pre-activations (..., 4 * size) ordered i, f, g, o."""
    i, f, g, o = gates.chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new


def keep_inactive(active, new, old):
    """New state for active cells, the old one bit for bit for the others. active: (batch, N)."""
    return torch.where(active.unsqueeze(-1), new, old)


def null_attention_relevance(scores):
    """RIM's rule with a zero null input (key 0, score 0): softmax over [null, scores] per cell; returns the mass on
    the real inputs (batch, N) and the full attention (batch, N, 1 + inputs)."""
    null = scores.new_zeros(scores.shape[:-1] + (1,))
    attention = torch.softmax(torch.cat([null, scores], dim=-1), dim=-1)
    return 1 - attention[..., 0], attention
