"""Tasks whose examples are fixed-length sequences (of tokens, or of feature vectors such as frames) with a label per
step or per sequence, generated or loaded in memory (no data-bin): the base of ``--task copying``, ``--task
seq_mnist`` and ``--task bouncing_balls``."""
import numpy as np
import torch
from fairseq.data import FairseqDataset
from fairseq.tasks import FairseqTask

from seq_cli import UsageError
from seq_plugins.tasks.exact_batches import ExactBatchesMixin


class LabelledSequences(FairseqDataset):
    """inputs (n, length) int64 tokens or (n, length, features) float; targets (n, length) for a label per step,
    (n,) for one per sequence, or (n, length, classes) float for a Bernoulli target per class and step (frames);
    scored (length,) bool: the steps whose labels must all be right for the sequence to count as right."""

    def __init__(self, inputs, targets, scored=None):
        self.inputs, self.targets, self.scored = inputs, targets, scored

    def __len__(self):
        return self.inputs.size(0)

    def __getitem__(self, index):
        return index

    def collater(self, indices):
        if not indices:
            return {}
        index = torch.as_tensor(indices, dtype=torch.long)
        sample = {"id": index, "nsentences": len(indices), "ntokens": self.targets[index].numel(),
                  "net_input": {"src_tokens": self.inputs[index]}, "target": self.targets[index]}
        if self.scored is not None:
            sample["scored"] = self.scored
        return sample

    def num_tokens(self, index):
        return self.inputs.size(1)

    def size(self, index):
        return self.inputs.size(1)

    @property
    def sizes(self):
        return np.full(len(self), self.inputs.size(1))

    def ordered_indices(self):
        return np.random.permutation(len(self))  # fairseq seeds numpy with the run's seed + epoch around this call


class LabelledSequenceTask(ExactBatchesMixin, FairseqTask):
    """Subclasses set ``num_input_tokens`` (or ``input_features``: the size of a float input vector per step),
    ``num_classes``, ``labels_per_step`` and define ``make_split``."""

    num_input_tokens: int
    input_features = 0
    num_classes: int
    labels_per_step: bool

    @classmethod
    def setup_task(cls, cfg, **kwargs):
        return cls(cfg)

    def split_names(self):
        raise NotImplementedError

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        if split not in self.split_names():
            raise UsageError(f"--task {self.task_name} has no split {split!r} (it has: {', '.join(self.split_names())})")
        if split not in self.datasets:
            self.datasets[split] = self.make_split(split)
        return self.datasets[split]

    def max_positions(self):
        return None
