"""``--arch meta_seq2seq``: meta sequence-to-sequence learning of Lake (2019), reimplemented from the paper.

Input and output encoders are 2-layer bidirectional LSTMs of size m (forward and backward outputs summed); the
queries are read by the input encoder. Keys K are the final states of the support inputs, values V those of the
support outputs (read at their end-of-sequence). Memory: A = softmax(Q K^T / sqrt(m)), M = A V, context
C_t = tanh(W_c [Q_t; M_t]). The decoder is a 2-layer LSTM whose hidden and cell states start at C_T (the context of
the last, end-of-sequence position), with dot attention over C scaled by 1/sqrt(m) and output
W_o tanh(W_a [h_t; c_t]). Without input feeding, teacher forcing runs the whole target through one LSTM call.

Padding: queries and support items of different lengths are padded; the encoders and the teacher-forced decoder
pack them (so no state reads padding, and the decoder's attention and output are computed for real positions only).
As in Lake's code, the decoder's attention also reads the padded positions of shorter queries (there Q = 0, so
C = tanh(W [0; mean of the values])): a query's outputs depend on the lengths of the queries batched with it.
``--mask-padding`` gives those positions zero weight instead, a departure (docs/results/meta_seq2seq.md).

``--no-memory``: C = Q, the standard seq2seq baseline (support ignored); ``--no-decoder-attention``: the output
reads the decoder state alone, W_o h_t. Dropout (0.5) acts on embeddings and between stacked LSTM layers.

Speed (docs/benchmarks.md): the LSTMs are nn.LSTM modules (their parameters, initialization and checkpoints) run by
seq_plugins/modules/packed_lstm.py, and one input-encoder call reads the queries and the support inputs together.
"""
import math
from dataclasses import dataclass, field

import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.models import BaseFairseqModel, register_model
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seq_plugins.modules.packed_lstm import packed_lstm
from seq_plugins.modules.uniform_dropout import Dropout


@dataclass
class MetaSeq2SeqConfig(FairseqDataclass):
    hidden_size: int = field(default=200, metadata={"help": "m: embedding and LSTM size everywhere"})
    num_layers: int = field(default=2, metadata={"help": "LSTM layers of the encoders and the decoder"})
    dropout: float = field(default=0.5, metadata={"help": "dropout on embeddings and between LSTM layers"})
    no_memory: bool = field(default=False, metadata={"help": "standard seq2seq: no memory over the support set"})
    no_decoder_attention: bool = field(default=False, metadata={"help": "decoder without attention over C"})
    mask_padding: bool = field(default=False, metadata={
        "help": "the decoder's attention ignores the padded positions of shorter queries (Lake's code attends to "
                "them)"})


class BiLSTMEncoder(nn.Module):
    def __init__(self, vocab_size, padding_idx, size, num_layers, dropout):
        super().__init__()
        self.size = size
        self.embed = nn.Embedding(vocab_size, size, padding_idx=padding_idx)
        self.dropout = Dropout(dropout)
        self.lstm = nn.LSTM(size, size, num_layers=num_layers, dropout=dropout, bidirectional=True)

    def forward(self, tokens, lengths):
        """Right-padded (batch, length) tokens -> states (length, batch, m), zero at padding, and the final
        states (batch, m): the top layer's forward state after the last token plus its backward state."""
        packed = pack_padded_sequence(tokens.t(), lengths.cpu(), enforce_sorted=False)
        x = self.dropout(self.embed(packed.data))  # only real tokens: padding never reaches a state
        outputs, (h, _c) = packed_lstm(self.lstm, x, packed.batch_sizes.tolist())
        outputs, _ = pad_packed_sequence(packed._replace(data=outputs), total_length=tokens.size(1))
        return outputs[..., :self.size] + outputs[..., self.size:], (h[-2] + h[-1])[packed.unsorted_indices]


@register_model("meta_seq2seq", dataclass=MetaSeq2SeqConfig)
class MetaSeq2Seq(BaseFairseqModel):
    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__()
        m = self.size = cfg.hidden_size
        self.num_layers, self.use_memory, self.use_attention = cfg.num_layers, not cfg.no_memory, not cfg.no_decoder_attention
        self.mask_padding = cfg.mask_padding
        self.src_pad, self.tgt_pad, self.eos = src_dict.pad(), tgt_dict.pad(), tgt_dict.eos()
        self.input_encoder = BiLSTMEncoder(len(src_dict), self.src_pad, m, cfg.num_layers, cfg.dropout)
        self.output_encoder = BiLSTMEncoder(len(tgt_dict), self.tgt_pad, m, cfg.num_layers, cfg.dropout)
        self.context = nn.Linear(2 * m, m) if self.use_memory else None
        self.embed_out = nn.Embedding(len(tgt_dict), m, padding_idx=self.tgt_pad)
        self.dropout = Dropout(cfg.dropout)
        self.lstm = nn.LSTM(m, m, num_layers=cfg.num_layers, dropout=cfg.dropout)
        self.attention_out = nn.Linear(2 * m, m) if self.use_attention else None
        self.out = nn.Linear(m, len(tgt_dict))
        # Lake's output layer scores the type's symbols, EOS and SOS (his padding): fairseq's <s> and <unk>, which
        # his has no row for, get logit -inf, so the softmax is his (extra never-target logits slow learning down)
        never = torch.zeros(len(tgt_dict), dtype=torch.bool)
        never[[tgt_dict.bos(), tgt_dict.unk()]] = True
        self.register_buffer("not_in_output", never, persistent=False)

    @classmethod
    def build_model(cls, cfg, task):
        return cls(cfg, task.source_dictionary, task.target_dictionary)

    def read_memory(self, src_tokens, src_lengths, support_src, support_src_lengths, support_tgt,
                    support_tgt_lengths):
        """Query states Q (length, batch, m), memory attention A (length, batch, support) and M = A V."""
        # one encoder call reads queries and support inputs (they do not interact)
        width = max(src_tokens.size(1), support_src.size(1))
        states, finals = self.input_encoder(
            torch.cat([F.pad(src_tokens, (0, width - src_tokens.size(1)), value=self.src_pad),
                       F.pad(support_src, (0, width - support_src.size(1)), value=self.src_pad)]),
            torch.cat([src_lengths, support_src_lengths]))
        queries, keys = states[:src_tokens.size(1), :src_tokens.size(0)], finals[src_tokens.size(0):]
        _, values = self.output_encoder(support_tgt, support_tgt_lengths)
        weights = torch.softmax(queries @ keys.t() / math.sqrt(self.size), dim=-1)
        return queries, weights, weights @ values

    def encode(self, src_tokens, src_lengths, support_src, support_src_lengths, support_tgt, support_tgt_lengths):
        """Context C (length, batch, m), its padding mask (batch, length) and the decoder's initial state."""
        if self.use_memory:
            queries, _, read = self.read_memory(src_tokens, src_lengths, support_src, support_src_lengths,
                                                support_tgt, support_tgt_lengths)
            context = torch.tanh(self.context(torch.cat([queries, read], dim=-1)))
        else:
            context, _ = self.input_encoder(src_tokens, src_lengths)
        padding_mask = torch.arange(src_tokens.size(1), device=src_tokens.device)[None, :] >= src_lengths[:, None]
        if not self.mask_padding:  # padded positions keep Q = 0, so C = tanh(W[0; mean of the values]) there
            padding_mask = torch.zeros_like(padding_mask)
        last = context[src_lengths - 1, torch.arange(context.size(1), device=context.device)]  # C_T: (batch, m)
        initial = last.unsqueeze(0).expand(self.num_layers, -1, -1).contiguous()
        return context, padding_mask, (initial, initial)

    def decode(self, prev_output_tokens, context, padding_mask, state):
        """Logits (batch, steps, vocabulary), attention weights (batch, steps, length) and the new state."""
        batch, steps = prev_output_tokens.shape
        context = context.transpose(0, 1)  # (batch, length, m)
        if steps == 1:  # a greedy step
            hidden, state = self.lstm(self.dropout(self.embed_out(prev_output_tokens)).transpose(0, 1), state)
            attended, weights = self.attend(hidden.transpose(0, 1), context, padding_mask)
            logits = self.readout(hidden[0], None if attended is None else attended[:, 0])
            return logits[:, None], weights, state
        # teacher forcing: the whole target in one packed call; the LSTM and the output read only the real
        # positions, and the attention runs per query over its padded steps (one product per query, not one
        # copy of the query's context per packed row)
        lengths = prev_output_tokens.ne(self.tgt_pad).sum(dim=1).cpu()
        packed = pack_padded_sequence(prev_output_tokens.t(), lengths, enforce_sorted=False)
        order = packed.sorted_indices
        hidden, (h, c) = packed_lstm(self.lstm, self.dropout(self.embed_out(packed.data)),
                                     packed.batch_sizes.tolist(), (state[0][:, order], state[1][:, order]))
        by_query, _ = pad_packed_sequence(packed._replace(data=hidden), batch_first=True, total_length=steps)
        attended, weights = self.attend(by_query, context, padding_mask)
        if attended is not None:  # back to packed rows, the order of ``hidden``
            attended = pack_padded_sequence(attended, lengths, batch_first=True, enforce_sorted=False).data
            real = torch.arange(steps)[None, :] < lengths[:, None]
            weights = weights * real[..., None].to(weights.device)  # zero at padded steps, as the padded logits are
        logits, _ = pad_packed_sequence(packed._replace(data=self.readout(hidden, attended)), batch_first=True,
                                        total_length=steps)
        return logits, weights, (h[:, packed.unsorted_indices], c[:, packed.unsorted_indices])

    def attend(self, hidden, context, padding_mask):
        """Dot attention of decoder states (batch, steps, m) over their query's context (batch, length, m), scaled
        by 1/sqrt(m): the attended vectors (batch, steps, m) and the weights (batch, steps, length), or
        (None, None) without decoder attention."""
        if not self.use_attention:
            return None, None
        scores = hidden @ context.transpose(1, 2) / math.sqrt(self.size)
        weights = torch.softmax(scores.masked_fill(padding_mask[:, None, :], float("-inf")), dim=-1)
        return weights @ context, weights

    def readout(self, hidden, attended):
        """Logits (rows, vocabulary) of decoder states (rows, m) and their attended contexts (rows, m) or None:
        W_o tanh(W_a [h; attended]), or W_o h without decoder attention."""
        if attended is not None:
            hidden = torch.tanh(self.attention_out(torch.cat([hidden, attended], dim=-1)))
        return self.out(hidden).masked_fill(self.not_in_output, float("-inf"))

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
