"""RNN seq2seq learners of Wang (2023): one implementation, three cells.

``--arch srnn_seq2seq`` (tanh RNN), ``gru_seq2seq`` and ``lstm_seq2seq``, each with ``--attention none`` (the decoder
reads only the encoder's final state) or ``--attention additive`` (Bahdanau; the context vector is concatenated to
the decoder input). The decoder state starts from the encoder's final state.
"""
from dataclasses import dataclass, field

import torch
from fairseq import utils
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.models import (
    FairseqEncoder,
    FairseqEncoderDecoderModel,
    FairseqIncrementalDecoder,
    register_model,
)
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seq_plugins.modules import AdditiveAttention

RNN_CELLS = {"srnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
# The same recurrences one step at a time, on nn.RNN's own parameters: calling nn.RNN on one step pays oneDNN's
# per-call cost (about 10 ms forward and backward per step at hidden 512 on CPU).
STEP_FUNCTIONS = {"srnn": torch.rnn_tanh_cell, "gru": torch.gru_cell, "lstm": torch.lstm_cell}


@dataclass
class RNNSeq2SeqConfig(FairseqDataclass):
    attention: ChoiceEnum(["none", "additive"]) = field(
        default="none", metadata={"help": "decoder attention over the encoder states"})
    embed_dim: int = field(default=128, metadata={"help": "embedding size (encoder and decoder)"})
    hidden_size: int = field(default=512, metadata={"help": "recurrent state size"})
    num_layers: int = field(default=1, metadata={"help": "stacked recurrent layers (encoder and decoder)"})
    dropout: float = field(default=0.0, metadata={"help": "dropout on embeddings and decoder outputs"})
    max_target_positions: int = field(default=100_000, metadata={"help": "longest output the model accepts"})


class RNNState:
    """The recurrent state as a list of (layers, batch, hidden) tensors: [h] or, for an LSTM, [h, c]."""

    @staticmethod
    def to_module(cell, state):
        return (state[0], state[1]) if cell == "lstm" else state[0]

    @staticmethod
    def from_module(cell, state):
        return list(state) if cell == "lstm" else [state]


class RNNEncoder(FairseqEncoder):
    def __init__(self, dictionary, cell, embed_dim, hidden_size, num_layers, dropout):
        super().__init__(dictionary)
        self.cell = cell
        self.padding_idx = dictionary.pad()
        self.embed_tokens = nn.Embedding(len(dictionary), embed_dim, padding_idx=self.padding_idx)
        self.dropout = nn.Dropout(dropout)
        self.rnn = RNN_CELLS[cell](embed_dim, hidden_size, num_layers=num_layers,
                                   dropout=dropout if num_layers > 1 else 0.0)

    def forward(self, src_tokens, src_lengths=None):
        # The recurrence must not read padding, so pack right-padded sequences (fairseq left-pads by default).
        tokens = utils.convert_padding_direction(src_tokens, self.padding_idx, left_to_right=True)
        padding_mask = tokens.eq(self.padding_idx)
        lengths = (~padding_mask).sum(dim=1)
        x = self.dropout(self.embed_tokens(tokens)).transpose(0, 1)
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        outputs, final_state = self.rnn(packed)
        outputs, _ = pad_packed_sequence(outputs, total_length=tokens.size(1))
        return {
            "encoder_out": [outputs],  # (src_len, batch, hidden), zeros at padding
            "encoder_padding_mask": [padding_mask],  # (batch, src_len)
            "encoder_state": RNNState.from_module(self.cell, final_state),
        }

    def reorder_encoder_out(self, encoder_out, new_order):
        return {
            "encoder_out": [encoder_out["encoder_out"][0].index_select(1, new_order)],
            "encoder_padding_mask": [encoder_out["encoder_padding_mask"][0].index_select(0, new_order)],
            "encoder_state": [s.index_select(1, new_order) for s in encoder_out["encoder_state"]],
        }

    def max_positions(self):
        return int(1e5)


class RNNDecoder(FairseqIncrementalDecoder):
    def __init__(self, dictionary, cell, embed_dim, hidden_size, num_layers, dropout, attention,
                 max_target_positions):
        super().__init__(dictionary)
        self.cell = cell
        self.max_target_positions = max_target_positions
        self.embed_tokens = nn.Embedding(len(dictionary), embed_dim, padding_idx=dictionary.pad())
        self.dropout = nn.Dropout(dropout)
        self.attention = AdditiveAttention(hidden_size, hidden_size, hidden_size) if attention else None
        input_size = embed_dim + (hidden_size if attention else 0)
        self.rnn = RNN_CELLS[cell](input_size, hidden_size, num_layers=num_layers,
                                   dropout=dropout if num_layers > 1 else 0.0)
        self.output_projection = nn.Linear(hidden_size, len(dictionary))

    def forward(self, prev_output_tokens, encoder_out, incremental_state=None, **unused):
        features, attention = self.extract_features(prev_output_tokens, encoder_out, incremental_state)
        return self.output_layer(features), {"attn": [attention]}

    def extract_features(self, prev_output_tokens, encoder_out, incremental_state=None, **unused):
        cached = self.get_incremental_state(incremental_state, "cached") if incremental_state is not None else None
        if cached is not None:
            prev_output_tokens = prev_output_tokens[:, -1:]
            state = [cached[f"state{i}"] for i in range(len(encoder_out["encoder_state"]))]
        else:
            state = list(encoder_out["encoder_state"])
        x = self.dropout(self.embed_tokens(prev_output_tokens)).transpose(0, 1)  # (tgt_len, batch, embed)

        attention = None
        if self.attention is None:
            outputs, new_state = self.rnn(x, RNNState.to_module(self.cell, state))
            state = RNNState.from_module(self.cell, new_state)
        else:
            values = encoder_out["encoder_out"][0]
            padding_mask = encoder_out["encoder_padding_mask"][0]
            keys = cached["keys"] if cached is not None else self.attention.project_keys(values)
            step_outputs, step_weights = [], []
            for step_input in x:  # the query of step t is the top layer's state s_{t-1}
                context, weights = self.attention(state[0][-1], keys, values, padding_mask)
                output, state = self.step(torch.cat([step_input, context], dim=-1), state)
                step_outputs.append(output.unsqueeze(0))
                step_weights.append(weights)
            outputs = torch.cat(step_outputs, dim=0)
            attention = torch.stack(step_weights, dim=1)  # (batch, tgt_len, src_len)

        if incremental_state is not None:
            new_cache = {f"state{i}": s for i, s in enumerate(state)}
            if self.attention is not None:
                new_cache["keys"] = keys
            self.set_incremental_state(incremental_state, "cached", new_cache)
        return self.dropout(outputs).transpose(0, 1), attention

    def step(self, rnn_input, state):
        """One time step of the stacked recurrence: (batch, input) and [(layers, batch, hidden), ...] ->
        the top layer's output (batch, hidden) and the new state."""
        new_state = [[] for _ in state]
        x = rnn_input
        for layer in range(self.rnn.num_layers):
            weights = [getattr(self.rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if self.cell == "lstm":
                h, c = STEP_FUNCTIONS["lstm"](x, (state[0][layer], state[1][layer]), *weights)
                new_state[1].append(c)
            else:
                h = STEP_FUNCTIONS[self.cell](x, state[0][layer], *weights)
            new_state[0].append(h)
            x = h if layer == self.rnn.num_layers - 1 else F.dropout(h, self.rnn.dropout, self.training)
        return x, [torch.stack(layers) for layers in new_state]

    def output_layer(self, features, **unused):
        return self.output_projection(features)

    def reorder_incremental_state(self, incremental_state, new_order):
        cached = self.get_incremental_state(incremental_state, "cached")
        if cached is None:
            return
        # every cached tensor has the batch in dimension 1: states (layers, batch, hidden), keys (src, batch, dim)
        self.set_incremental_state(incremental_state, "cached",
                                   {name: t.index_select(1, new_order) for name, t in cached.items()})

    def max_positions(self):
        return self.max_target_positions


class RNNSeq2Seq(FairseqEncoderDecoderModel):
    """Subclasses fix the cell; the registered name is the architecture name."""

    cell = None

    @classmethod
    def build_model(cls, cfg, task):
        sizes = dict(embed_dim=cfg.embed_dim, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
                     dropout=cfg.dropout)
        encoder = RNNEncoder(task.source_dictionary, cls.cell, **sizes)
        decoder = RNNDecoder(task.target_dictionary, cls.cell, attention=str(cfg.attention) == "additive",
                             max_target_positions=cfg.max_target_positions, **sizes)
        model = cls(encoder, decoder)
        model.reset_parameters()
        return model

    def reset_parameters(self):
        """Xavier-uniform weights and zero biases, as in the paper; padding embeddings stay zero."""
        for name, param in self.named_parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
            else:
                nn.init.zeros_(param)
        with torch.no_grad():
            for embedding in (self.encoder.embed_tokens, self.decoder.embed_tokens):
                embedding.weight[embedding.padding_idx].zero_()


@register_model("srnn_seq2seq", dataclass=RNNSeq2SeqConfig)
class SRNNSeq2Seq(RNNSeq2Seq):
    cell = "srnn"


@register_model("gru_seq2seq", dataclass=RNNSeq2SeqConfig)
class GRUSeq2Seq(RNNSeq2Seq):
    cell = "gru"


@register_model("lstm_seq2seq", dataclass=RNNSeq2SeqConfig)
class LSTMSeq2Seq(RNNSeq2Seq):
    cell = "lstm"
