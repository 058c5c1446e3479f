"""``--task transduction``: string-to-string functions made by ``python -m preprocess.transductions``.

Stock translation data loading, plus every example batched (ExactBatchesMixin) and a one-line error naming the
data directory and the splits it does have when a split is missing.
"""
import glob
import os
from dataclasses import dataclass, field

from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask

from seq_cli import UsageError
from seq_plugins.tasks.exact_batches import ExactBatchesMixin, RepeatedBatches
from seq_plugins.tasks.seed_ensemble_steps import SeedEnsembleStepsMixin


def available_splits(data_dir, src, tgt):
    suffix = f".{src}-{tgt}.{src}.idx"
    return sorted(os.path.basename(p)[: -len(suffix)] for p in glob.glob(os.path.join(data_dir, "*" + suffix)))


@dataclass
class TransductionConfig(TranslationConfig):
    passes_per_epoch: int = field(default=1, metadata={
        "help": "passes over the training batches in one fairseq epoch; with a training set of one batch, K passes "
                "give exactly the weights of K one-update epochs, without fairseq's per-epoch work"})


@register_task("transduction", dataclass=TransductionConfig)
class TransductionTask(SeedEnsembleStepsMixin, ExactBatchesMixin, TranslationTask):
    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        data_dir = self.cfg.data.split(os.pathsep)[0]
        src, tgt = self.cfg.source_lang, self.cfg.target_lang
        found = available_splits(data_dir, src, tgt)
        if split not in found:
            raise UsageError(f"data directory {data_dir} has no split {split!r} (it has: {', '.join(found) or 'none'})")
        if os.path.getsize(os.path.join(data_dir, f"{split}.{src}-{tgt}.{src}.bin")) == 0:
            raise UsageError(f"split {split!r} of {data_dir} is empty")  # fairseq's mmap reader would crash
        super().load_dataset(split, epoch=epoch, combine=combine, **kwargs)
        if self.cfg.passes_per_epoch < 1:
            raise UsageError(f"--passes-per-epoch must be at least 1, got {self.cfg.passes_per_epoch}")
        if split == self.cfg.train_subset and self.cfg.passes_per_epoch > 1:
            self.datasets[split] = RepeatedBatches(self.datasets[split], self.cfg.passes_per_epoch)
