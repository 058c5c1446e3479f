"""``--criterion prequential_mdl``: cross-entropy for training, plus the code length of examples in bits for the
prequential description length computed by ``--task prequential_translation``."""
import math

import torch
from fairseq.criterions import register_criterion
from fairseq.criterions.cross_entropy import CrossEntropyCriterion, CrossEntropyCriterionConfig

from seq_plugins.models.seed_ensemble import SeedEnsembleModel


@register_criterion("prequential_mdl", dataclass=CrossEntropyCriterionConfig)
class PrequentialMDLCriterion(CrossEntropyCriterion):
    @torch.no_grad()
    def code_lengths(self, model, sample):
        """-log2 p(target) of every example of ``sample``, end-of-sequence included, in bits, in the order of
        ``sample["id"]`` (a list); for a seed_ensemble, one list per seed."""
        if isinstance(model, SeedEnsembleModel):
            return model.per_seed(self.example_bits, sample).tolist()
        return self.example_bits(model, model(**sample["net_input"]), sample).tolist()

    def example_bits(self, model, net_output, sample):
        lprobs = model.get_normalized_probs(net_output, log_probs=True).float()
        target = model.get_targets(sample, net_output)
        nats = -lprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
        return nats.masked_fill(target.eq(self.padding_idx), 0.0).sum(dim=-1) / math.log(2)
