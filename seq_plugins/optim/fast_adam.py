"""``--optimizer fast_adam``: fairseq's ``adam``, one fused pass over each parameter instead of seven.

The same options (``--adam-betas``, ``--adam-eps``, ``--weight-decay``), the same state (``step``, ``exp_avg``,
``exp_avg_sq``) and the same update up to floating-point rounding as stock ``--optimizer adam`` (which on a CPU, and
on a GPU without apex, runs fairseq's own Python Adam: a chain of elementwise operations, each a full pass over
the parameter in memory). Here torch's fused AdamW kernel does the whole update in one pass.

Clipping (``--clip-norm``) is fairseq's too: the same float32 norm over all gradients and the same coefficient,
with the per-tensor norms taken in one foreach call rather than one call per tensor. Scaling the gradients by 1
(fairseq's trainer divides them by the sample size, 1 sentence in FIND's trainings with --sentence-avg) is skipped.

Two differences of formula are bridged: fairseq adds ``eps`` to sqrt(v) before the bias correction, torch's kernel
after it, so the kernel gets eps / sqrt(1 - beta2^step); fairseq's weight decay is decoupled
(p <- p - lr * wd * p before the step), as is AdamW's.
"""
import math
from dataclasses import dataclass

import torch
from fairseq.optim import FairseqOptimizer, register_optimizer
from fairseq.optim.adam import FairseqAdam, FairseqAdamConfig

from seq_cli import UsageError


@dataclass
class FastAdamConfig(FairseqAdamConfig):
    pass


class FusedFairseqAdam(torch.optim.Optimizer):
    def __init__(self, params, lr, betas, eps, weight_decay):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            by_step = {}  # the kernel takes one eps per call, and eps depends on the step
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("fast_adam does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                by_step.setdefault(state["step"], []).append(p)
            for step, params in by_step.items():
                states = [self.state[p] for p in params]
                torch._fused_adamw_(
                    params, [p.grad for p in params], [s["exp_avg"] for s in states],
                    [s["exp_avg_sq"] for s in states], [],
                    [torch.tensor(float(step), device=params[0].device)] * len(params),  # read, not written
                    lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                    eps=group["eps"] / math.sqrt(1 - beta2 ** step), amsgrad=False, maximize=False)
        return loss


@register_optimizer("fast_adam", dataclass=FastAdamConfig)
class FastAdam(FairseqAdam):
    def __init__(self, cfg: FastAdamConfig, params):
        FairseqOptimizer.__init__(self, cfg)  # not FairseqAdam's: it would build its own optimizer
        if cfg.fp16_adam_stats or cfg.use_old_adam or getattr(cfg, "tpu", False):
            raise UsageError("--optimizer fast_adam: --fp16-adam-stats, --use-old-adam and --tpu need "
                             "--optimizer adam")
        self._optimizer = FusedFairseqAdam(params, **self.optimizer_config)

    def multiply_grads(self, c):
        if not torch.is_tensor(c) and c == 1:  # fairseq's trainer scales by 1 / sample_size: 1 with one sentence
            return
        super().multiply_grads(c)

    def zero_grad(self):
        for p in self.params:  # fairseq's does this, then torch's optimizer walks the parameters again
            p.grad = None

    def clip_grad_norm(self, max_norm, aggregate_norm_fn=None):
        params = [p for p in self.params if p.grad is not None]
        if (not params or len({p.grad.device for p in params}) > 1
                or any(p.grad.is_sparse or hasattr(p, "expert") for p in params)):
            return super().clip_grad_norm(max_norm, aggregate_norm_fn)  # cases fairseq treats apart
        grads = [p.grad.detach() for p in params]
        total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2, dtype=torch.float32)))
        if aggregate_norm_fn is not None:
            total_norm = aggregate_norm_fn(total_norm)
        if max_norm > 0:
            torch._foreach_mul_(grads, (float(max_norm) / (total_norm + 1e-6)).clamp_(max=1))
        return total_norm
