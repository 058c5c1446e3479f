"""RIM (Goyal et al. 2019, Recurrent Independent Mechanisms) with one attention head, the baseline of RigLSTM:
input attention against a null input picks the top-Ka blocks, each active block runs its own LSTM, active blocks
then read all blocks' candidate states (residual), inactive blocks keep h and c exactly."""
import math

import torch
from torch import nn

from seq_plugins.modules.cell_groups import (
    GroupedLinear,
    GroupedRecurrence,
    keep_inactive,
    lstm_update,
    null_attention_relevance,
    top_k_mask,
)


class RIMCell(GroupedRecurrence):
    def __init__(self, input_size, num_cells=6, cell_size=64, num_active=4, attention_size=32, input_value_size=None):
        super().__init__()
        if not 1 <= num_active <= num_cells:
            raise ValueError(f"num_active must be between 1 and {num_cells}, got {num_active}")
        self.num_cells, self.cell_size, self.num_active = num_cells, cell_size, num_active
        self.attention_size = attention_size
        self.scale = 1 / math.sqrt(attention_size)
        value_size = input_value_size or cell_size
        # the null input is zero, so without biases its key and value are zero
        self.input_key = nn.Linear(input_size, attention_size, bias=False)
        self.input_value = nn.Linear(input_size, value_size, bias=False)
        self.input_query = GroupedLinear(num_cells, cell_size, attention_size)
        self.gates = GroupedLinear(num_cells, value_size + cell_size, 4 * cell_size)
        self.communication = GroupedLinear(num_cells, cell_size, 2 * attention_size + cell_size)

    def prepare(self, x):
        return self.input_key(x).unsqueeze(2), self.input_value(x).unsqueeze(2)  # one real input per step

    def step(self, prepared, state, step_mask=None):
        key, value = prepared
        h, c = state
        scores = torch.bmm(self.input_query(h), key.transpose(1, 2)) * self.scale  # (batch, N, 1)
        relevance, attention = null_attention_relevance(scores)
        active = top_k_mask(relevance, self.num_active)
        if step_mask is not None:
            active = active & step_mask.unsqueeze(1)
        block_input = torch.bmm(attention[..., 1:], value)
        h_cand, c_cand = lstm_update(self.gates(torch.cat([block_input, h], dim=-1)), c)
        a = self.attention_size
        query, key_c, value_c = self.communication(h_cand).split([a, a, self.cell_size], dim=-1)
        weights = torch.softmax(torch.bmm(query, key_c.transpose(1, 2)) * self.scale, dim=-1)
        h_cand = h_cand + torch.bmm(weights, value_c)
        return (keep_inactive(active, h_cand, h), keep_inactive(active, c_cand, c)), active
