"""``--criterion label_cross_entropy``: cross-entropy of the labels of ``--task copying`` / ``--task seq_mnist``,
and of the pixels of the next frame in ``--task bouncing_balls``.

Logs ``loss`` (bits per label, fairseq's convention), ``ce`` (nats per label, as the copying task is usually
reported), ``acc`` (labels right) and ``seq_acc`` (sequences whose scored labels are all right: the copied part of a
copying sequence; the label itself for classification).

Float targets (frames: each pixel a probability of "on") are scored by binary cross-entropy per pixel, with the
pixel's logit; ``ce`` is then nats per pixel, and the per-frame prediction errors are logged instead of the
accuracies: ``frame_bce`` (binary cross-entropy summed over a frame's pixels, nats) and ``frame_sqerr`` (squared
error of the predicted grey levels, sigmoid of the logits, summed over a frame's pixels), both per predicted frame.
"""
import math

import torch
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion
from torch.nn import functional as F


@register_criterion("label_cross_entropy")
class LabelCrossEntropyCriterion(FairseqCriterion):
    def forward(self, model, sample, reduce=True):
        logits = model(**sample["net_input"]).float()
        target = sample["target"]
        loss, counts = (self.frame_loss if target.is_floating_point() else self.label_loss)(logits, target, sample)
        logging_output = {"loss": loss.data, "ntokens": target.numel(), "nsentences": target.size(0),
                          "sample_size": target.numel(), **counts}
        return loss, target.numel(), logging_output

    @staticmethod
    def label_loss(logits, target, sample):
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), reduction="sum")
        correct = logits.detach().argmax(-1).eq(target)
        if correct.dim() == 2:
            scored = sample.get("scored", torch.ones(correct.size(1), dtype=torch.bool))
            sequence_correct = correct[:, scored.to(correct.device)].all(dim=1)
        else:
            sequence_correct = correct
        return loss, {"n_correct": correct.sum().item(), "n_seq_correct": sequence_correct.sum().item()}

    @staticmethod
    def frame_loss(logits, target, sample):
        """logits, target: (batch, time, pixels); a frame is one step's pixels."""
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
        squared_error = (torch.sigmoid(logits.detach()) - target).pow(2).sum()
        return loss, {"nframes": target.numel() // target.size(-1), "squared_error": squared_error.item()}

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        def total(key):
            return sum(log.get(key, 0) for log in logging_outputs)

        loss, labels = float(total("loss")), total("sample_size")
        if labels:
            metrics.log_scalar("loss", loss / labels / math.log(2), labels, round=4)
            metrics.log_scalar("ce", loss / labels, labels, round=4)
        frames = total("nframes")
        if frames:
            metrics.log_scalar("frame_bce", loss / frames, frames, round=4)
            metrics.log_scalar("frame_sqerr", total("squared_error") / frames, frames, round=4)
            return
        if labels:
            metrics.log_scalar("acc", total("n_correct") / labels, labels, round=6)
        sequences = total("nsentences")
        if sequences:
            metrics.log_scalar("seq_acc", total("n_seq_correct") / sequences, sequences, round=6)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True
