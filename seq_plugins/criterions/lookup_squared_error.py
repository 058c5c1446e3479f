"""``--criterion lookup_squared_error``: 0.5 * sum over bits of (y - t)^2 at the last step, summed over the batch.

fairseq divides the gradient by the returned sample size (the number of sequences), so the update follows the mean
over sequences, the loss of the reference. Logged: ``loss`` (that mean), ``acc`` (sequences whose three output signs
all match, 0 counted as +1) and ``bit0_acc`` .. ``bit2_acc``.
"""
import torch
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion

from seq_plugins.tasks.sequence_lookup import N_BITS, sign_matches


@register_criterion("lookup_squared_error")
class LookupSquaredErrorCriterion(FairseqCriterion):
    def forward(self, model, sample, reduce=True):
        outputs = model(**sample["net_input"])
        target = sample["target"]
        loss = 0.5 * torch.nn.functional.mse_loss(outputs, target, reduction="sum")
        right = sign_matches(outputs.detach().numpy(), target.numpy())
        nsentences = len(target)
        logging_output = {
            "loss": loss.data,
            "nsentences": nsentences,
            "ntokens": sample["ntokens"],
            "sample_size": nsentences,
            "n_correct": int(right.all(axis=1).sum()),
            **{f"bit{i}_correct": int(count) for i, count in enumerate(right.sum(axis=0))},
        }
        return loss, nsentences, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        total = sum(log.get("nsentences", 0) for log in logging_outputs)
        loss = sum(float(log.get("loss", 0)) for log in logging_outputs)
        metrics.log_scalar("loss", loss / max(total, 1), total, round=6)
        metrics.log_scalar("_total", total)
        for key, name in [("n_correct", "acc")] + [(f"bit{i}_correct", f"bit{i}_acc") for i in range(N_BITS)]:
            metrics.log_scalar("_" + key, sum(log.get(key, 0) for log in logging_outputs))
            metrics.log_derived(name, lambda m, key=key: round(m["_" + key].sum / max(m["_total"].sum, 1), 6))

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True
