"""``--criterion label_cross_entropy``: cross-entropy of the labels of ``--task copying`` / ``--task seq_mnist``.

Logs ``loss`` (bits per label, fairseq's convention), ``ce`` (nats per label, as the copying task is usually
reported), ``acc`` (labels right) and ``seq_acc`` (sequences whose scored labels are all right: the copied part of a
copying sequence; the label itself for classification).
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
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), reduction="sum")
        correct = logits.detach().argmax(-1).eq(target)
        if correct.dim() == 2:
            scored = sample.get("scored", torch.ones(correct.size(1), dtype=torch.bool))
            sequence_correct = correct[:, scored.to(correct.device)].all(dim=1)
        else:
            sequence_correct = correct
        logging_output = {
            "loss": loss.data,
            "ntokens": target.numel(),
            "nsentences": target.size(0),
            "sample_size": target.numel(),
            "n_correct": correct.sum().item(),
            "n_seq_correct": sequence_correct.sum().item(),
        }
        return loss, target.numel(), logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        def total(key):
            return sum(log.get(key, 0) for log in logging_outputs)

        loss, labels = float(total("loss")), total("sample_size")
        if labels:
            metrics.log_scalar("loss", loss / labels / math.log(2), labels, round=4)
            metrics.log_scalar("ce", loss / labels, labels, round=4)
            metrics.log_scalar("acc", total("n_correct") / labels, labels, round=6)
        sequences = total("nsentences")
        if sequences:
            metrics.log_scalar("seq_acc", total("n_seq_correct") / sequences, sequences, round=6)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True
