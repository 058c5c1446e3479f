"""``--criterion prequential_mdl``: cross-entropy for training, plus the code length of examples in bits for the
prequential description length computed by ``--task prequential_translation``."""
import math

import torch
from fairseq.criterions import register_criterion
from fairseq.criterions.cross_entropy import CrossEntropyCriterion, CrossEntropyCriterionConfig


@register_criterion("prequential_mdl", dataclass=CrossEntropyCriterionConfig)
class PrequentialMDLCriterion(CrossEntropyCriterion):
    @torch.no_grad()
    def code_lengths(self, model, sample):
        """-log2 p(target) of every example of ``sample``, end-of-sequence included, in bits (a list)."""
        net_output = model(**sample["net_input"])
        lprobs = model.get_normalized_probs(net_output, log_probs=True).float()
        target = model.get_targets(sample, net_output)
        nats = -lprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
        nats = nats.masked_fill(target.eq(self.padding_idx), 0.0).sum(dim=-1)
        return (nats / math.log(2)).tolist()
