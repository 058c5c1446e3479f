"""Training and validation steps of ``--arch seed_ensemble`` (seq_plugins/models/seed_ensemble.py) in our tasks.

fairseq's trainer calls the task for each step; for an ensemble the task sums the seeds' losses (so each seed's
gradient is its own), clips each seed's gradient at ``--clip-norm`` and logs each seed's loss as ``loss_s<seed>``.
The logged ``loss`` is the mean over seeds, in a single run's units. fairseq's trainer would clip the norm over all
seeds at once, so building an ensemble moves ``--clip-norm`` from the trainer's configuration to the model.

Every seed reads fairseq's batch, or (``--task prequential_translation``, whose seeds hold out different examples)
each seed its own, stacked by ``stack_samples``; a task that replays dropout seeds per training says so through
``dropout_update``.
"""
import math

import torch
import torch.nn.functional as F
from fairseq import metrics

from seq_plugins.models.seed_ensemble import PER_SEED, SeedEnsembleModel

SEED_LOSS = "seed_loss:"
SEED_GNORM = "seed_gnorm:"


def stack_samples(dataset, samples):
    """One batch per seed (``dataset.collater``'s, as many examples each) as one sample with a leading seed axis:
    token tensors padded to the widest seed's length on the side ``dataset`` pads them; ntokens per seed."""
    def stacked(tensors, pad, left):
        width = max(t.size(1) for t in tensors)
        return torch.stack([F.pad(t, (width - t.size(1), 0) if left else (0, width - t.size(1)), value=pad)
                            for t in tensors])

    src_pad, tgt_pad = dataset.src_dict.pad(), dataset.tgt_dict.pad()
    inputs = [sample["net_input"] for sample in samples]
    return {PER_SEED: True, "id": torch.stack([sample["id"] for sample in samples]),
            "nsentences": samples[0]["nsentences"], "ntokens": torch.tensor([s["ntokens"] for s in samples]),
            "net_input": {"src_tokens": stacked([i["src_tokens"] for i in inputs], src_pad, dataset.left_pad_source),
                          "src_lengths": torch.stack([i["src_lengths"] for i in inputs]),
                          "prev_output_tokens": stacked([i["prev_output_tokens"] for i in inputs], tgt_pad,
                                                        dataset.left_pad_target)},
            "target": stacked([sample["target"] for sample in samples], tgt_pad, dataset.left_pad_target)}


def sentences_of(sample):
    return sample["target"].size(1 if sample.get(PER_SEED) else 0)


def seed_sample_sizes(criterion, sample):
    """What a single run divides each seed's gradient by: its sentences with --sentence-avg, else its target
    tokens (a tensor of one count per seed when each seed has its own batch)."""
    return sentences_of(sample) if getattr(criterion, "sentence_avg", False) else sample["ntokens"]


def logging_output(model, losses, nll_losses, sample, sample_size, grad_norms=None):
    k = len(model.seeds)
    output = {"loss": losses.detach().sum() / k, "nll_loss": nll_losses.detach().sum() / k,
              "ntokens": float(torch.as_tensor(sample["ntokens"], dtype=torch.float).mean()),
              "nsentences": sentences_of(sample), "sample_size": sample_size}
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
        model.begin_update(self.dropout_update(update_num))
        losses, nll_losses = model.seed_losses(criterion, sample)
        sizes = seed_sample_sizes(criterion, sample)
        sample_size = float(sizes.float().mean()) if torch.is_tensor(sizes) else sizes
        # fairseq divides every gradient by one sample_size: weighted so that each seed's is divided by its own
        weights = sample_size / sizes
        losses, nll_losses = losses * weights, nll_losses * weights
        optimizer.backward(losses.sum() * (0 if ignore_grad else 1))
        grad_norms = model.clip_per_seed(model.clip_norm, sample_size)
        return losses.detach().sum(), sample_size, logging_output(model, losses, nll_losses, sample, sample_size,
                                                                  grad_norms)

    def dropout_update(self, update_num):
        """The update count a single run seeds dropout with before update ``update_num`` (--seed + it)."""
        return update_num

    def valid_step(self, sample, model, criterion):
        if not isinstance(model, SeedEnsembleModel):
            return super().valid_step(sample, model, criterion)
        model.eval()
        with torch.no_grad():
            losses, nll_losses = model.seed_losses(criterion, sample)
        sample_size = seed_sample_sizes(criterion, sample)
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
