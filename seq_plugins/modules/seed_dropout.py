"""Dropout for K stacked seeds: each seed draws its masks from its own generator.

fairseq seeds torch with ``--seed + update`` before every update, and on the CPU ``F.dropout`` multiplies by
``empty_like(x).bernoulli_(1 - p) / (1 - p)`` from that generator. Seeding seed s's generator with ``s + update`` and
drawing the same shapes in the same order therefore gives seed s of an ensemble exactly the masks of a single run
with ``--seed s``, independent of which other seeds share the process.
"""
import torch
from fairseq.modules import FairseqDropout


def _mask(x, p, generator):
    return torch.empty_like(x).bernoulli_(1 - p, generator=generator).div_(1 - p)


class _SeedDropout(torch.autograd.Function):
    generate_vmap_rule = False

    @staticmethod
    def forward(x, p, generators):  # one seed, outside vmap
        mask = _mask(x, p, generators[0])
        return x * mask, mask

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(output[1])

    @staticmethod
    def backward(ctx, grad, _grad_mask):
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None

    @staticmethod
    def vmap(info, in_dims, x, p, generators):
        # runs on the physical [K, ...] tensor: autograd records these ops as usual
        x = x.movedim(in_dims[0], 0) if in_dims[0] is not None else x.expand(info.batch_size, *x.shape)
        masks = torch.stack([_mask(x[k], p, generator) for k, generator in enumerate(generators)])
        return (x * masks, masks), (0, 0)


class SeedDropout(FairseqDropout):
    """Takes a FairseqDropout's place inside a stacked model; ``generators`` is shared with the ensemble."""

    def __init__(self, original, generators):
        super().__init__(original.p, module_name=original.module_name)
        self.apply_during_inference = original.apply_during_inference
        self.generators = generators

    def forward(self, x, inplace: bool = False):
        if self.p > 0 and (self.training or self.apply_during_inference):
            return _SeedDropout.apply(x, self.p, self.generators)[0]
        return x
