"""``--task copying``: the copying memory task with dormant phases (Hochreiter & Schmidhuber 1997; the form of
Arjovsky et al. 2016 used by RIM and RigLSTM).

Input: 10 symbols drawn from 1-8, T-1 blanks (0), the marker 9, 10 blanks. Target: blanks for the first T+10 steps,
then the 10 symbols. Training and validation use ``--dormant`` T, the ``test`` split ``--test-dormant`` (longer).
"""
from dataclasses import dataclass, field

import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks import register_task

from seq_cli import UsageError
from seq_plugins.tasks.labelled_sequences import LabelledSequences, LabelledSequenceTask

COPIED, BLANK, MARKER, SYMBOLS = 10, 0, 9, 8
SPLIT_SEEDS = {"train": 0, "valid": 1, "test": 2}


def copying_data(size, dormant, seed):
    """(inputs, targets) of ``size`` sequences of length dormant + 20, from a generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    symbols = torch.randint(1, SYMBOLS + 1, (size, COPIED), generator=generator)
    length = dormant + 2 * COPIED
    inputs = torch.full((size, length), BLANK, dtype=torch.long)
    inputs[:, :COPIED] = symbols
    inputs[:, COPIED + dormant - 1] = MARKER
    targets = torch.full((size, length), BLANK, dtype=torch.long)
    targets[:, -COPIED:] = symbols
    return inputs, targets


@dataclass
class CopyingConfig(FairseqDataclass):
    dormant: int = field(default=50, metadata={"help": "T: blanks + marker between the symbols and the recall "
                                                       "(training and validation)"})
    test_dormant: int = field(default=200, metadata={"help": "T of the test split"})
    train_size: int = field(default=20000, metadata={"help": "training sequences"})
    valid_size: int = field(default=1000, metadata={"help": "validation sequences"})
    test_size: int = field(default=1000, metadata={"help": "test sequences"})
    data_seed: int = field(default=1, metadata={"help": "seed of the generated data (split s uses data_seed * 1000 + s)"})


@register_task("copying", dataclass=CopyingConfig)
class CopyingTask(LabelledSequenceTask):
    task_name = "copying"
    num_input_tokens = MARKER + 1
    num_classes = SYMBOLS + 1
    labels_per_step = True

    def __init__(self, cfg):
        super().__init__(cfg)
        for name in ("dormant", "test_dormant", "train_size", "valid_size", "test_size"):
            if getattr(cfg, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")

    def split_names(self):
        return list(SPLIT_SEEDS)

    def make_split(self, split):
        dormant = self.cfg.test_dormant if split == "test" else self.cfg.dormant
        size = getattr(self.cfg, f"{split}_size")
        inputs, targets = copying_data(size, dormant, self.cfg.data_seed * 1000 + SPLIT_SEEDS[split])
        scored = torch.zeros(inputs.size(1), dtype=torch.bool)
        scored[-COPIED:] = True
        return LabelledSequences(inputs, targets, scored)
