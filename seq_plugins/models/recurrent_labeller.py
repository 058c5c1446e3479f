"""Recurrent sequence classifiers and per-step labellers for ``--task copying``, ``--task seq_mnist`` and ``--task
bouncing_balls``: ``--arch riglstm`` (docs/riglstm.md), ``--arch rim``, ``--arch grid_lstm`` (2-D Grid LSTM) and
``--arch lstm_labeller`` (nn.LSTM; stock fairseq already owns the name ``lstm``).

Tokens are embedded (float input vectors such as frames are encoded by a linear layer), run through the recurrence,
and a linear layer reads every step's output (a label per step, or a logit per pixel of the next frame) or the last
step's (one label per sequence), as the task asks.
"""
from dataclasses import dataclass, field

from fairseq.dataclass import FairseqDataclass
from fairseq.models import BaseFairseqModel, register_model
from torch import nn

from seq_cli import UsageError
from seq_plugins.modules import RigLSTMCell, RIMCell
from seq_plugins.modules.grid_lstm import GridLSTM
from seq_plugins.modules.riglstm_cell import MECHANISMS


@dataclass
class LabellerConfig(FairseqDataclass):
    embed_dim: int = field(default=16, metadata={"help": "input token embedding (or frame encoding) size"})
    dropout: float = field(default=0.0, metadata={"help": "dropout on the recurrence's outputs"})


@dataclass
class LSTMLabellerConfig(LabellerConfig):
    hidden_size: int = field(default=384, metadata={"help": "LSTM state size"})


@dataclass
class GridLSTMConfig(LabellerConfig):
    hidden_size: int = field(default=128, metadata={"help": "size of the hidden vectors and memories"})
    num_layers: int = field(default=2, metadata={"help": "blocks along the depth dimension"})


@dataclass
class CellGroupConfig(LabellerConfig):
    num_cells: int = field(default=6, metadata={"help": "N: number of cells"})
    cell_size: int = field(default=64, metadata={"help": "state size of each cell (total hidden: N x this)"})
    attention_size: int = field(default=32, metadata={"help": "size of attention queries and keys"})


@dataclass
class RIMConfig(CellGroupConfig):
    num_active: int = field(default=4, metadata={"help": "Ka: blocks active per step"})


@dataclass
class RigLSTMConfig(CellGroupConfig):
    num_active: int = field(default=5, metadata={"help": "Ka: cells active per step"})
    num_views: int = field(default=6, metadata={"help": "K: views of the input"})
    top_views: int = field(default=5, metadata={"help": "Kx: views each active cell reads"})
    top_cells: int = field(default=5, metadata={"help": "Kh: other cells each active cell reads"})
    view_size: int = field(default=32, metadata={"help": "size of each input view"})
    no_input_views: bool = field(default=False, metadata={"help": "ablation: the input itself is the only view"})
    no_cell_selection: bool = field(default=False, metadata={"help": "ablation: every cell is active"})
    no_input_selection: bool = field(default=False, metadata={"help": "ablation: cells attend to all views"})
    no_state_selection: bool = field(default=False, metadata={"help": "ablation: cells attend to all other cells"})
    no_soft_update: bool = field(default=False, metadata={"help": "ablation: the new state is the LSTM's candidate"})


def riglstm_cell(cfg, input_size):
    """The RigLSTM cell group of a config (shared with riglstm_seq2seq); bad counts become one-line errors."""
    try:
        return RigLSTMCell(input_size, num_cells=cfg.num_cells, cell_size=cfg.cell_size, num_active=cfg.num_active,
                           num_views=cfg.num_views, top_views=cfg.top_views, top_cells=cfg.top_cells,
                           view_size=cfg.view_size, attention_size=cfg.attention_size,
                           disabled=[m for m in MECHANISMS if getattr(cfg, "no_" + m)])
    except ValueError as err:
        raise UsageError(str(err)) from None


class LSTMRecurrence(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.output_size = hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size)

    def forward(self, x):
        return self.lstm(x)


class RecurrentLabeller(BaseFairseqModel):
    def __init__(self, recurrence, embed_dim, num_input_tokens, num_classes, labels_per_step, dropout,
                 input_features=0):
        super().__init__()
        if input_features:
            self.encode_inputs = nn.Linear(input_features, embed_dim)
        else:
            self.embed_tokens = nn.Embedding(num_input_tokens, embed_dim)
        self.recurrence = recurrence
        self.dropout = nn.Dropout(dropout)
        self.output_projection = nn.Linear(recurrence.output_size, num_classes)
        self.labels_per_step = labels_per_step

    @classmethod
    def build_model(cls, cfg, task):
        if not hasattr(task, "labels_per_step"):
            raise UsageError(f"--arch {cls.arch_name} needs --task copying, seq_mnist or bouncing_balls")
        return cls(cls.build_recurrence(cfg, cfg.embed_dim), cfg.embed_dim, task.num_input_tokens,
                   task.num_classes, task.labels_per_step, cfg.dropout, task.input_features)

    def forward(self, src_tokens, **unused):
        """(batch, time) tokens or (batch, time, features) inputs -> logits (batch, time, classes) or
        (batch, classes)."""
        embed = self.embed_tokens if hasattr(self, "embed_tokens") else self.encode_inputs
        outputs, _ = self.recurrence(embed(src_tokens).transpose(0, 1))
        features = self.dropout(outputs if self.labels_per_step else outputs[-1])
        logits = self.output_projection(features)
        return logits.transpose(0, 1) if self.labels_per_step else logits

    def max_positions(self):
        return None


@register_model("lstm_labeller", dataclass=LSTMLabellerConfig)
class LSTMLabeller(RecurrentLabeller):
    arch_name = "lstm_labeller"

    @staticmethod
    def build_recurrence(cfg, input_size):
        return LSTMRecurrence(input_size, cfg.hidden_size)


@register_model("grid_lstm", dataclass=GridLSTMConfig)
class GridLSTMLabeller(RecurrentLabeller):
    arch_name = "grid_lstm"

    @staticmethod
    def build_recurrence(cfg, input_size):
        if cfg.num_layers < 1:
            raise UsageError(f"--num-layers must be at least 1, got {cfg.num_layers}")
        return GridLSTM(input_size, cfg.hidden_size, cfg.num_layers)


@register_model("rim", dataclass=RIMConfig)
class RIMLabeller(RecurrentLabeller):
    arch_name = "rim"

    @staticmethod
    def build_recurrence(cfg, input_size):
        if not 1 <= cfg.num_active <= cfg.num_cells:
            raise UsageError(f"--num-active must be between 1 and --num-cells {cfg.num_cells}, got {cfg.num_active}")
        return RIMCell(input_size, num_cells=cfg.num_cells, cell_size=cfg.cell_size, num_active=cfg.num_active,
                       attention_size=cfg.attention_size)


@register_model("riglstm", dataclass=RigLSTMConfig)
class RigLSTMLabeller(RecurrentLabeller):
    arch_name = "riglstm"

    @staticmethod
    def build_recurrence(cfg, input_size):
        return riglstm_cell(cfg, input_size)
