"""``--optimizer shrink_sgd``: SGD with momentum whose weight decay shrinks the weight matrices only.

One update, for every parameter p with gradient g (already clipped), in the order of the reference
implementation (yaroslavvb/hinton-problems, sequence-lookup-25):

    v <- momentum * v - lr * g
    p <- p + v
    p <- (1 - lr * wd) * p          only for weight matrices (two or more dimensions), never biases

Stock ``--optimizer sgd`` (torch's SGD) cannot express this: its weight decay adds wd * p to the gradient, so the
decay passes through the momentum buffer, and it decays the biases too.

``--clip-norm`` is applied here, not by fairseq's utility: the global norm over all gradients, computed in the
parameters' own precision (fairseq's rounds to float32, which refuses float64 gradients), and the gradients scaled
by clip / norm when the norm exceeds clip.
"""
from dataclasses import dataclass, field
from typing import List

import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.optim import FairseqOptimizer, register_optimizer
from omegaconf import II


@dataclass
class ShrinkSGDConfig(FairseqDataclass):
    momentum: float = field(default=0.9, metadata={"help": "momentum factor"})
    weight_decay: float = field(default=0.0, metadata={"help": "shrink of the weight matrices per update, times lr"})
    lr: List[float] = II("optimization.lr")


class ShrinkMomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            # one multi-tensor call per line: this network is so small that per-call costs dominate
            for p in params:
                if "velocity" not in self.state[p]:
                    self.state[p]["velocity"] = torch.zeros_like(p)
            velocities = [self.state[p]["velocity"] for p in params]
            torch._foreach_mul_(velocities, momentum)
            torch._foreach_add_(velocities, [p.grad for p in params], alpha=-lr)
            torch._foreach_add_(params, velocities)
            matrices = [p for p in params if p.dim() >= 2]
            if decay and matrices:
                torch._foreach_mul_(matrices, 1 - lr * decay)
        return loss


@register_optimizer("shrink_sgd", dataclass=ShrinkSGDConfig)
class FairseqShrinkSGD(FairseqOptimizer):
    def __init__(self, cfg, params):
        super().__init__(cfg)
        self._optimizer = ShrinkMomentumSGD(params, **self.optimizer_config)

    @property
    def optimizer_config(self):
        return {"lr": self.cfg.lr[0], "momentum": self.cfg.momentum, "weight_decay": self.cfg.weight_decay}

    def clip_grad_norm(self, max_norm, aggregate_norm_fn=None):
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        if aggregate_norm_fn is not None:
            norm = aggregate_norm_fn(norm)
        if max_norm > 0 and norm > max_norm:
            torch._foreach_mul_(grads, float(max_norm) / float(norm))
        return norm
