"""``--arch riglstm_seq2seq``: an encoder-decoder whose encoder and decoder are RigLSTM cell groups
(docs/riglstm.md), for ``--task transduction`` and the FIND probes.

The encoder reads the source with padding steps masked (every cell keeps its state there), so its final state is
the state after the last real token; the decoder starts from that state and reads the previous target token.
There is no attention over the encoder outputs: the final state is the only channel, as in ``--attention none``.
"""
from dataclasses import dataclass, field

from fairseq import utils
from fairseq.models import FairseqEncoder, FairseqEncoderDecoderModel, FairseqIncrementalDecoder, register_model
from torch import nn

from seq_plugins.models.recurrent_labeller import RigLSTMConfig, riglstm_cell


@dataclass
class RigLSTMSeq2SeqConfig(RigLSTMConfig):
    max_target_positions: int = field(default=100_000, metadata={"help": "longest output the model accepts"})


class RigLSTMEncoder(FairseqEncoder):
    def __init__(self, cfg, dictionary):
        super().__init__(dictionary)
        self.padding_idx = dictionary.pad()
        self.embed_tokens = nn.Embedding(len(dictionary), cfg.embed_dim, padding_idx=self.padding_idx)
        self.cells = riglstm_cell(cfg, cfg.embed_dim)

    def forward(self, src_tokens, src_lengths=None):
        tokens = utils.convert_padding_direction(src_tokens, self.padding_idx, left_to_right=True)
        step_mask = tokens.ne(self.padding_idx).t()  # (src_len, batch)
        _, state = self.cells(self.embed_tokens(tokens).transpose(0, 1), step_mask=step_mask)
        return {"encoder_state": list(state)}  # h and c, each (batch, cells, cell_size)

    def reorder_encoder_out(self, encoder_out, new_order):
        return {"encoder_state": [s.index_select(0, new_order) for s in encoder_out["encoder_state"]]}

    def max_positions(self):
        return int(1e5)


class RigLSTMDecoder(FairseqIncrementalDecoder):
    def __init__(self, cfg, dictionary):
        super().__init__(dictionary)
        self.max_target_positions = cfg.max_target_positions
        self.embed_tokens = nn.Embedding(len(dictionary), cfg.embed_dim, padding_idx=dictionary.pad())
        self.cells = riglstm_cell(cfg, cfg.embed_dim)
        self.dropout = nn.Dropout(cfg.dropout)
        self.output_projection = nn.Linear(self.cells.output_size, len(dictionary))

    def forward(self, prev_output_tokens, encoder_out, incremental_state=None, **unused):
        features, _ = self.extract_features(prev_output_tokens, encoder_out, incremental_state)
        return self.output_layer(features), {"attn": [None]}

    def extract_features(self, prev_output_tokens, encoder_out, incremental_state=None, **unused):
        cached = self.get_incremental_state(incremental_state, "cached") if incremental_state is not None else None
        if cached is not None:
            prev_output_tokens = prev_output_tokens[:, -1:]
            state = (cached["h"], cached["c"])
        else:
            state = tuple(encoder_out["encoder_state"])
        outputs, (h, c) = self.cells(self.embed_tokens(prev_output_tokens).transpose(0, 1), state)
        if incremental_state is not None:
            self.set_incremental_state(incremental_state, "cached", {"h": h, "c": c})
        return self.dropout(outputs).transpose(0, 1), None

    def output_layer(self, features, **unused):
        return self.output_projection(features)

    def reorder_incremental_state(self, incremental_state, new_order):
        cached = self.get_incremental_state(incremental_state, "cached")
        if cached is not None:
            self.set_incremental_state(incremental_state, "cached",
                                       {name: t.index_select(0, new_order) for name, t in cached.items()})

    def max_positions(self):
        return self.max_target_positions


@register_model("riglstm_seq2seq", dataclass=RigLSTMSeq2SeqConfig)
class RigLSTMSeq2Seq(FairseqEncoderDecoderModel):
    @classmethod
    def build_model(cls, cfg, task):
        return cls(RigLSTMEncoder(cfg, task.source_dictionary), RigLSTMDecoder(cfg, task.target_dictionary))
