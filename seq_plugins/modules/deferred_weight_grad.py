"""Linear maps applied once per time step whose weight gradient is computed once per sequence.

Backpropagating through a step-by-step decoder, autograd computes each step's weight gradient g_tᵀ x_t and adds it
to the running sum. With a batch of one example that is an outer product the size of the weight per step (4 MB at
hidden 512), and this memory traffic dominates the whole update. Here the step computes y_t = x_t Wᵀ with W
detached, so autograd propagates only to x_t, plus a zero slot s_t whose gradient is g_t; one matrix product
Gᵀ X over all steps then gives dW. Same parameters, same state dict; outside ``deferred_weight_gradients`` the
modules compute exactly what their parents do.
"""
import contextlib

import torch
from torch import nn
from torch.nn import functional as F


class _SequenceWeightGrad(torch.autograd.Function):
    """Zeros of shape (steps, batch, out) whose gradient G turns into dW = Gᵀ X, X being the inputs recorded by the
    steps (the list is filled after this forward, during the pass)."""

    @staticmethod
    def forward(ctx, weight, steps, batch, inputs):
        ctx.inputs = inputs
        return weight.new_zeros(steps, batch, weight.size(0))

    @staticmethod
    def backward(ctx, grad):
        inputs = torch.stack(ctx.inputs)
        grad = grad[: len(ctx.inputs)]
        weight_grad = grad.reshape(-1, grad.size(-1)).t().mm(inputs.reshape(-1, inputs.size(-1)))
        return weight_grad, None, None, None


class _Steps:
    """One weight's state during a pass: the zero slots and the inputs seen (their count is the next step)."""

    def __init__(self, weight, steps, batch):
        self.inputs = []
        self.slots = _SequenceWeightGrad.apply(weight, steps, batch, self.inputs).unbind(0)

    def linear(self, x, weight):
        slot = self.slots[len(self.inputs)]
        self.inputs.append(x.detach())
        return F.linear(x, weight.detach()) + slot


class _Stepped:
    _steps = None

    def _begin(self, steps, batch):
        self._steps = {name: _Steps(getattr(self, name), steps, batch) for name in self._weights}

    def _end(self):
        self._steps = None


class SteppedLinear(_Stepped, nn.Linear):
    _weights = ("weight",)

    def forward(self, x):
        if self._steps is None:
            return super().forward(x)
        y = self._steps["weight"].linear(x, self.weight)
        return y if self.bias is None else y + self.bias


class SteppedLSTMCell(_Stepped, nn.LSTMCell):
    _weights = ("weight_ih", "weight_hh")

    def forward(self, x, state=None):
        if self._steps is None:
            return super().forward(x, state)
        h, c = state
        gates = self._steps["weight_ih"].linear(x, self.weight_ih) + self._steps["weight_hh"].linear(h, self.weight_hh)
        if self.bias:
            gates = gates + self.bias_ih + self.bias_hh
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


def make_stepped(module):
    """Turn an nn.Linear or nn.LSTMCell into its stepped subclass in place: the same parameters, no new state."""
    module.__class__ = SteppedLinear if isinstance(module, nn.Linear) else SteppedLSTMCell
    return module


@contextlib.contextmanager
def deferred_weight_gradients(module, steps, batch):
    """Within the block, the stepped modules under ``module`` defer their weight gradients over ``steps`` calls
    each (a batch of ``batch`` rows); without gradients to compute they run as their parents."""
    stepped = [m for m in module.modules() if isinstance(m, _Stepped)] if torch.is_grad_enabled() else []
    for m in stepped:
        m._begin(steps, batch)
    try:
        yield
    finally:
        for m in stepped:
            m._end()
