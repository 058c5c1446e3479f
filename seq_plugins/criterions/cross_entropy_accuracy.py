"""``--criterion cross_entropy_acc``: stock cross-entropy that also logs token accuracy (``acc``) and
full-sequence accuracy (``seq_acc``) of the teacher-forced argmax.

A sequence is right under teacher forcing at every position exactly when greedy decoding reproduces it (by
induction over positions), so ``seq_acc`` equals greedy full-sequence accuracy without running a decoder and can
drive early stopping: ``--best-checkpoint-metric seq_acc --maximize-best-checkpoint-metric``.
"""
import torch
from fairseq import metrics
from fairseq.criterions import register_criterion
from fairseq.criterions.cross_entropy import CrossEntropyCriterion, CrossEntropyCriterionConfig


@register_criterion("cross_entropy_acc", dataclass=CrossEntropyCriterionConfig)
class CrossEntropyAccuracyCriterion(CrossEntropyCriterion):
    def forward(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        loss, _ = self.compute_loss(model, net_output, sample, reduce=reduce)
        target = model.get_targets(sample, net_output)
        logits = net_output[0].detach()
        # greedy decoding never emits padding (fairseq's generator bans it), so neither does this argmax
        logits = logits.index_fill(-1, torch.tensor([self.padding_idx], device=logits.device), float("-inf"))
        real = target.ne(self.padding_idx)
        correct = logits.argmax(dim=-1).eq(target) & real
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {
            "loss": loss.data,
            "ntokens": sample["ntokens"],
            "nsentences": sample["target"].size(0),
            "sample_size": sample_size,
            "n_correct": correct.sum().item(),
            "n_seq_correct": (correct | ~real).all(dim=1).sum().item(),
        }
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        CrossEntropyCriterion.reduce_metrics(logging_outputs)
        for key in ("n_correct", "n_seq_correct", "ntokens", "nsentences"):
            metrics.log_scalar("_" + key, sum(log.get(key, 0) for log in logging_outputs))
        metrics.log_derived("acc", lambda m: _ratio(m["_n_correct"].sum, m["_ntokens"].sum))
        metrics.log_derived("seq_acc", lambda m: _ratio(m["_n_seq_correct"].sum, m["_nsentences"].sum))


def _ratio(numerator, denominator):
    return round(float(numerator) / float(denominator), 6) if denominator > 0 else 0.0
