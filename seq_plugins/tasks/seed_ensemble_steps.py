"""Training and validation steps of ``--arch seed_ensemble`` (seq_plugins/models/seed_ensemble.py) in our tasks.

fairseq's trainer calls the task for each step; for an ensemble the task sums the seeds' losses (so each seed's
gradient is its own), clips each seed's gradient at ``--clip-norm`` and logs each seed's loss as ``loss_s<seed>``.
The logged ``loss`` is the mean over seeds, in a single run's units. fairseq's trainer would clip the norm over all
seeds at once, so building an ensemble moves ``--clip-norm`` from the trainer's configuration to the model.
"""
import math

import torch
from fairseq import metrics

from seq_plugins.models.seed_ensemble import SeedEnsembleModel

SEED_LOSS = "seed_loss:"
SEED_GNORM = "seed_gnorm:"


def sample_size_of(criterion, sample):
    return sample["target"].size(0) if getattr(criterion, "sentence_avg", False) else sample["ntokens"]


def logging_output(model, losses, nll_losses, sample, sample_size, grad_norms=None):
    k = len(model.seeds)
    output = {"loss": losses.detach().sum() / k, "nll_loss": nll_losses.detach().sum() / k,
              "ntokens": sample["ntokens"], "nsentences": sample["target"].size(0), "sample_size": sample_size}
    output.update({f"{SEED_LOSS}{seed}": loss for seed, loss in zip(model.seeds, losses.detach())})
    if grad_norms is not None:  # before clipping, as a single run logs gnorm
        output.update({f"{SEED_GNORM}{seed}": norm for seed, norm in zip(model.seeds, grad_norms)})
    return output


class SeedEnsembleStepsMixin:
    def build_model(self, cfg, from_checkpoint=False):
        model = super().build_model(cfg, from_checkpoint)
        root = self.cfg._get_parent() if hasattr(self.cfg, "_get_parent") else None
        if isinstance(model, SeedEnsembleModel) and root is not None and "optimization" in root:
            model.clip_norm, root.optimization.clip_norm = root.optimization.clip_norm, 0.0
        return model

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False, **kwargs):
        if not isinstance(model, SeedEnsembleModel):
            return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad, **kwargs)
        model.train()
        model.set_num_updates(update_num)
        model.begin_update(update_num)
        losses, nll_losses = model.seed_losses(criterion, sample)
        sample_size = sample_size_of(criterion, sample)
        optimizer.backward(losses.sum() * (0 if ignore_grad else 1))
        grad_norms = model.clip_per_seed(model.clip_norm, sample_size)
        return losses.detach().sum(), sample_size, logging_output(model, losses, nll_losses, sample, sample_size,
                                                                  grad_norms)

    def valid_step(self, sample, model, criterion):
        if not isinstance(model, SeedEnsembleModel):
            return super().valid_step(sample, model, criterion)
        model.eval()
        with torch.no_grad():
            losses, nll_losses = model.seed_losses(criterion, sample)
        sample_size = sample_size_of(criterion, sample)
        return losses.sum(), sample_size, logging_output(model, losses, nll_losses, sample, sample_size)

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        if not logging_outputs:
            return
        sample_size = sum(log.get("sample_size", 0) for log in logging_outputs)
        for key in logging_outputs[0]:
            if key.startswith(SEED_LOSS):
                total = sum(float(log[key]) for log in logging_outputs)
                metrics.log_scalar(f"loss_s{key[len(SEED_LOSS):]}", total / sample_size / math.log(2), sample_size,
                                   round=3)
            elif key.startswith(SEED_GNORM):
                norm = sum(float(log[key]) for log in logging_outputs) / len(logging_outputs)
                metrics.log_scalar(f"gnorm_s{key[len(SEED_GNORM):]}", norm, round=3)
