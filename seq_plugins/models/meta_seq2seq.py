"""``--arch meta_seq2seq``: meta sequence-to-sequence learning of Lake (2019), reimplemented from the paper.

Input and output encoders are 2-layer bidirectional LSTMs of size m (forward and backward outputs summed); the
queries are read by the input encoder. Keys K are the final states of the support inputs, values V those of the
support outputs (read at their end-of-sequence). Memory: A = softmax(Q K^T / sqrt(m)), M = A V, context
C_t = tanh(W_c [Q_t; M_t]). The decoder is a 2-layer LSTM whose hidden and cell states start at C_T (the context of
the last, end-of-sequence position), with dot attention over C scaled by 1/sqrt(m) and output
W_o tanh(W_a [h_t; c_t]). Without input feeding, teacher forcing runs the whole target through one LSTM call.

Padding: queries and support items of different lengths are padded; the encoders pack them (so no state reads
padding), and the decoder's attention gives padded query positions zero weight. (Lake's original code does not
mask its attention over padded positions; it batches queries of different lengths only at test time.)

``--no-memory``: C = Q, the standard seq2seq baseline (support ignored); ``--no-decoder-attention``: the output
reads the decoder state alone, W_o h_t. Dropout (0.5) acts on embeddings and between stacked LSTM layers.
"""
import math
from dataclasses import dataclass, field

import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.models import BaseFairseqModel, register_model
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass
class MetaSeq2SeqConfig(FairseqDataclass):
    hidden_size: int = field(default=200, metadata={"help": "m: embedding and LSTM size everywhere"})
    num_layers: int = field(default=2, metadata={"help": "LSTM layers of the encoders and the decoder"})
    dropout: float = field(default=0.5, metadata={"help": "dropout on embeddings and between LSTM layers"})
    no_memory: bool = field(default=False, metadata={"help": "standard seq2seq: no memory over the support set"})
    no_decoder_attention: bool = field(default=False, metadata={"help": "decoder without attention over C"})


class BiLSTMEncoder(nn.Module):
    def __init__(self, vocab_size, padding_idx, size, num_layers, dropout):
        super().__init__()
        self.size = size
        self.embed = nn.Embedding(vocab_size, size, padding_idx=padding_idx)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(size, size, num_layers=num_layers, dropout=dropout, bidirectional=True)

    def forward(self, tokens, lengths):
        """Right-padded (batch, length) tokens -> states (length, batch, m), zero at padding, and the final
        states (batch, m): the top layer's forward state after the last token plus its backward state."""
        x = self.dropout(self.embed(tokens)).transpose(0, 1)
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        outputs, (h, _c) = self.lstm(packed)
        outputs, _ = pad_packed_sequence(outputs, total_length=tokens.size(1))
        return outputs[..., :self.size] + outputs[..., self.size:], h[-2] + h[-1]


@register_model("meta_seq2seq", dataclass=MetaSeq2SeqConfig)
class MetaSeq2Seq(BaseFairseqModel):
    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__()
        m = self.size = cfg.hidden_size
        self.num_layers, self.use_memory, self.use_attention = cfg.num_layers, not cfg.no_memory, not cfg.no_decoder_attention
        self.src_pad, self.tgt_pad, self.eos = src_dict.pad(), tgt_dict.pad(), tgt_dict.eos()
        self.input_encoder = BiLSTMEncoder(len(src_dict), self.src_pad, m, cfg.num_layers, cfg.dropout)
        self.output_encoder = BiLSTMEncoder(len(tgt_dict), self.tgt_pad, m, cfg.num_layers, cfg.dropout)
        self.context = nn.Linear(2 * m, m) if self.use_memory else None
        self.embed_out = nn.Embedding(len(tgt_dict), m, padding_idx=self.tgt_pad)
        self.dropout = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(m, m, num_layers=cfg.num_layers, dropout=cfg.dropout)
        self.attention_out = nn.Linear(2 * m, m) if self.use_attention else None
        self.out = nn.Linear(m, len(tgt_dict))

    @classmethod
    def build_model(cls, cfg, task):
        return cls(cfg, task.source_dictionary, task.target_dictionary)

    def encode(self, src_tokens, src_lengths, support_src, support_src_lengths, support_tgt, support_tgt_lengths):
        """Context C (length, batch, m), its padding mask (batch, length) and the decoder's initial state."""
        queries, _ = self.input_encoder(src_tokens, src_lengths)
        if self.use_memory:
            _, keys = self.input_encoder(support_src, support_src_lengths)
            _, values = self.output_encoder(support_tgt, support_tgt_lengths)
            weights = torch.softmax(queries @ keys.t() / math.sqrt(self.size), dim=-1)  # (length, batch, support)
            context = torch.tanh(self.context(torch.cat([queries, weights @ values], dim=-1)))
        else:
            context = queries
        padding_mask = torch.arange(src_tokens.size(1), device=src_tokens.device)[None, :] >= src_lengths[:, None]
        last = context[src_lengths - 1, torch.arange(context.size(1), device=context.device)]  # C_T: (batch, m)
        initial = last.unsqueeze(0).expand(self.num_layers, -1, -1).contiguous()
        return context, padding_mask, (initial, initial)

    def decode(self, prev_output_tokens, context, padding_mask, state):
        """Logits (batch, steps, vocabulary), attention weights (batch, steps, length) and the new state."""
        x = self.dropout(self.embed_out(prev_output_tokens)).transpose(0, 1)
        steps = x.size(0)
        if steps > 1:  # teacher forcing: one packed call skips the padding (2x faster on CPU than padded)
            lengths = prev_output_tokens.ne(self.tgt_pad).sum(dim=1).cpu()
            hidden, state = self.lstm(pack_padded_sequence(x, lengths, enforce_sorted=False), state)
            hidden, _ = pad_packed_sequence(hidden, total_length=steps)
        else:
            hidden, state = self.lstm(x, state)  # (steps, batch, m)
        hidden = hidden.transpose(0, 1)
        if not self.use_attention:
            return self.out(hidden), None, state
        scores = hidden @ context.permute(1, 2, 0) / math.sqrt(self.size)  # (batch, steps, length)
        weights = torch.softmax(scores.masked_fill(padding_mask[:, None, :], float("-inf")), dim=-1)
        attended = weights @ context.transpose(0, 1)
        return self.out(torch.tanh(self.attention_out(torch.cat([hidden, attended], dim=-1)))), weights, state

    def forward(self, src_tokens, src_lengths, prev_output_tokens, support_src, support_src_lengths, support_tgt,
                support_tgt_lengths, **unused):
        context, padding_mask, state = self.encode(src_tokens, src_lengths, support_src, support_src_lengths,
                                                   support_tgt, support_tgt_lengths)
        logits, weights, _ = self.decode(prev_output_tokens, context, padding_mask, state)
        return logits, {"attn": [weights]}

    @torch.no_grad()
    def greedy(self, net_input, max_len):
        """Greedy outputs, a list of token-id lists without end-of-sequence, one per query."""
        inputs = {k: v for k, v in net_input.items() if k != "prev_output_tokens"}
        context, padding_mask, state = self.encode(**inputs)
        batch = context.size(1)
        token = torch.full((batch, 1), self.eos, dtype=torch.long, device=context.device)
        steps, done = [], torch.zeros(batch, dtype=torch.bool, device=context.device)
        for _ in range(max_len):
            logits, _, state = self.decode(token, context, padding_mask, state)
            logits[..., self.tgt_pad] = float("-inf")
            token = logits.argmax(dim=-1)
            steps.append(token)
            done |= token[:, 0].eq(self.eos)
            if done.all():
                break
        outputs = torch.cat(steps, dim=1).tolist()
        return [seq[:seq.index(self.eos)] if self.eos in seq else seq for seq in outputs]

    def get_normalized_probs(self, net_output, log_probs, sample=None):
        logits = net_output[0].float()
        return F.log_softmax(logits, dim=-1) if log_probs else F.softmax(logits, dim=-1)

    def max_positions(self):
        return None
