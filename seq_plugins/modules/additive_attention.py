import torch
from torch import nn


class AdditiveAttention(nn.Module):
    """Bahdanau attention: score_j = v . tanh(W [s; e_j]), written as W_s s + W_e e_j so that the key half
    W_e e_j is computed once per source sentence (``project_keys``) instead of once per decoding step.

    Padded source positions get zero weight.
    """

    def __init__(self, query_dim, key_dim, attention_dim):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, attention_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, attention_dim, bias=True)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def project_keys(self, keys):
        """keys: (src_len, batch, key_dim) -> (src_len, batch, attention_dim)."""
        return self.key_proj(keys)

    def forward(self, query, projected_keys, values, padding_mask):
        """query (batch, query_dim), projected_keys (src_len, batch, attention_dim), values (src_len, batch, dim),
        padding_mask (batch, src_len), True where padded -> context (batch, dim), weights (batch, src_len)."""
        scores = self.score(torch.tanh(projected_keys + self.query_proj(query).unsqueeze(0))).squeeze(-1)
        scores = scores.masked_fill(padding_mask.t(), float("-inf"))
        weights = torch.softmax(scores, dim=0)
        context = torch.bmm(weights.t().unsqueeze(1), values.transpose(0, 1)).squeeze(1)
        return context, weights.t()
