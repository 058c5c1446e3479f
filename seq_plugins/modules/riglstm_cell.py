"""RigLSTM's recurrent cell group, as formulated in docs/riglstm.md (sections 1-7 are marked below)."""
import math

import torch
from torch import nn

from seq_plugins.modules.cell_groups import (
    GroupedLinear,
    GroupedRecurrence,
    keep_inactive,
    keep_top_k,
    lstm_update,
    null_attention_relevance,
    top_k_mask,
)

MECHANISMS = ("input_views", "cell_selection", "input_selection", "state_selection", "soft_update")


class RigLSTMCell(GroupedRecurrence):
    def __init__(self, input_size, num_cells=6, cell_size=64, num_active=5, num_views=6, top_views=5, top_cells=5,
                 view_size=64, attention_size=32, message_size=None, disabled=()):
        super().__init__()
        unknown = set(disabled) - set(MECHANISMS)
        if unknown:
            raise ValueError(f"unknown RigLSTM mechanisms {sorted(unknown)}; known: {', '.join(MECHANISMS)}")
        self.enabled = {name: name not in disabled for name in MECHANISMS}
        if not self.enabled["input_views"]:
            num_views, top_views, view_size = 1, 1, input_size
        for name, value, limit in (("num_active", num_active, num_cells), ("top_views", top_views, num_views),
                                   ("top_cells", top_cells, num_cells - 1)):
            if not 1 <= value <= limit:
                raise ValueError(f"{name} must be between 1 and {limit}, got {value}")
        self.num_cells, self.cell_size = num_cells, cell_size
        self.num_views, self.view_size = num_views, view_size
        self.num_active = num_active if self.enabled["cell_selection"] else num_cells
        self.top_views = top_views if self.enabled["input_selection"] else num_views
        self.top_cells = top_cells if self.enabled["state_selection"] else num_cells - 1
        self.attention_size = attention_size
        self.scale = 1 / math.sqrt(attention_size)
        message_size = message_size or cell_size
        self.message_size = message_size
        # 1. views, and the shared keys and values of the views
        self.views = nn.Linear(input_size, num_views * view_size) if self.enabled["input_views"] else None
        self.view_keys = nn.Linear(view_size, attention_size, bias=False)
        self.view_values = nn.Linear(view_size, cell_size, bias=False)
        # 2-4. from each cell's state: input query, message query, message key, message value
        self.from_state = GroupedLinear(num_cells, cell_size, 3 * attention_size + message_size)
        # 5. the per-cell LSTM over [selected input; message; own state]
        self.gates = GroupedLinear(num_cells, cell_size + message_size + cell_size, 4 * cell_size)
        # 6. soft state updating: query from the selected input, keys from the previous and candidate states
        if self.enabled["soft_update"]:
            self.update_query = GroupedLinear(num_cells, cell_size, attention_size)
            self.update_key = GroupedLinear(num_cells, cell_size, attention_size)

    def prepare(self, x):
        """Keys and values of the K views of every step: (time, batch, K, attention) and (time, batch, K, cell)."""
        views = x.unsqueeze(2) if self.views is None else self.views(x).unflatten(-1, (self.num_views, self.view_size))
        return self.view_keys(views), self.view_values(views)

    def step(self, prepared, state, step_mask=None):
        keys, values = prepared
        h, c = state
        a = self.attention_size
        query, message_query, message_key, message_value = self.from_state(h).split([a, a, a, self.message_size], -1)

        # 2. cell selection on the dense attention over {null, all views}
        scores = torch.bmm(query, keys.transpose(1, 2)) * self.scale  # (batch, N, K)
        relevance, _ = null_attention_relevance(scores)
        active = top_k_mask(relevance, self.num_active)
        if step_mask is not None:
            active = active & step_mask.unsqueeze(1)

        # 3. input feature selection: attention over {null, top-Kx views}; the null view's value is zero
        _, attention = null_attention_relevance(keep_top_k(scores, self.top_views))
        selected_input = torch.bmm(attention[..., 1:], values)  # (batch, N, cell)

        # 4. hidden-state selection over the other cells' previous states
        cell_scores = torch.bmm(message_query, message_key.transpose(1, 2)) * self.scale  # (batch, N, N)
        eye = torch.eye(self.num_cells, dtype=torch.bool, device=h.device)
        cell_scores = keep_top_k(cell_scores.masked_fill(eye, float("-inf")), self.top_cells)
        message = torch.bmm(torch.softmax(cell_scores, dim=-1), message_value)

        # 5. Grid-LSTM-style update
        h_cand, c_cand = lstm_update(self.gates(torch.cat([selected_input, message, h], dim=-1)), c)

        # 6. soft state updating, weighted by relevance to the input
        if self.enabled["soft_update"]:
            q = self.update_query(selected_input)
            k = self.update_key(torch.cat([h, h_cand], dim=0)).unflatten(0, (2, -1))
            weights = torch.softmax(torch.stack([(q * k[0]).sum(-1), (q * k[1]).sum(-1)], -1) * self.scale, -1)
            w_prev, w_cand = weights[..., :1], weights[..., 1:]
            h_cand, c_cand = w_prev * h + w_cand * h_cand, w_prev * c + w_cand * c_cand

        # 7. inactive cells keep their state exactly
        return (keep_inactive(active, h_cand, h), keep_inactive(active, c_cand, c)), active
