"""Run-time stand-ins for the few stock fairseq pieces that torch.func.vmap cannot batch, used only while a
seed_ensemble runs its stacked seeds (seq_plugins/models/seed_ensemble.py); each computes exactly what it replaces.

When every seed has its own batch (the prequential task's), the batch is stacked too, and fairseq's models branch in
Python on its padding: "is there any padding?" (``mask.any()``), its shape as a tensor, and packing by lengths that
differ between seeds. Those branches only skip work that changes nothing when there is no padding, so the stand-in
answers for the whole ensemble (padding in any seed), and the LSTM takes the padded steps with their lengths.
"""
import contextlib
from typing import NamedTuple

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


class GradMultiply(torch.autograd.Function):
    """fairseq.modules.GradMultiply (identity forward, gradient scaled), written in the form vmap accepts."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, scale):
        return x.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.scale = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def any_in_some_seed(tensor, *args, **kwargs):
    """Tensor.any(); over all seeds at once for a stacked tensor, so that Python can branch on it."""
    if not args and not kwargs and torch._C._functorch.is_batchedtensor(tensor):
        tensor = torch._C._functorch.get_unwrapped(tensor)
    return torch._C.TensorBase.any(tensor, *args, **kwargs)


def shape_as_tensor(tensor):
    """torch.onnx.operators.shape_as_tensor, whose aten op vmap batches into a per-seed tensor (the shape is every
    seed's)."""
    return torch.tensor(tensor.shape)


class PaddedSequence(NamedTuple):
    """Steps T x B x C and their B lengths: what fairseq's LSTMEncoder packs, unpacked (each seed's lengths are its
    own, so they cannot be packed into one tensor)."""
    steps: torch.Tensor
    lengths: torch.Tensor


def pack_as_padded(input, lengths, batch_first=False, enforce_sorted=True):
    """torch.nn.utils.rnn.pack_padded_sequence for StackableLSTM."""
    return PaddedSequence(input.transpose(0, 1) if batch_first else input, torch.as_tensor(lengths))


def unpack_padded(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """torch.nn.utils.rnn.pad_packed_sequence of a PaddedSequence: steps past a sequence's length hold
    ``padding_value``; as many steps as the input had (a stacked batch's width), or ``total_length``."""
    x, lengths = sequence
    inside = torch.arange(x.size(0)).unsqueeze(1) < lengths.unsqueeze(0)
    x = torch.where(inside.unsqueeze(2).to(x.device), x, padding_value)
    if total_length is not None:
        x = torch.nn.functional.pad(x, (0, 0, 0, 0, 0, total_length - x.size(0)), value=padding_value)
    return (x.transpose(0, 1) if batch_first else x), lengths


def _replacements():
    import torch.onnx.operators
    from fairseq.models import fconv

    return [(fconv, "GradMultiply", GradMultiply), (torch.Tensor, "any", any_in_some_seed),
            (torch.onnx.operators, "shape_as_tensor", shape_as_tensor),
            (torch.nn.utils.rnn, "pack_padded_sequence", pack_as_padded),
            (torch.nn.utils.rnn, "pad_packed_sequence", unpack_padded)]


@contextlib.contextmanager
def stackable_modules():
    replaced = [(module, name, getattr(module, name)) for module, name, _ in _replacements()]
    try:
        for module, name, replacement in _replacements():
            setattr(module, name, replacement)
        yield
    finally:
        for module, name, original in replaced:
            setattr(module, name, original)


def _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of nn.LSTM / nn.LSTMCell (gates i, f, g, o), in plain operations vmap batches."""
    gates = torch.nn.functional.linear(x, w_ih, b_ih) + torch.nn.functional.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class StackableLSTMCell(torch.nn.LSTMCell):
    """nn.LSTMCell (aten::lstm_cell has no batching rule); same parameters."""

    def forward(self, x, state=None):
        if state is None:
            zeros = x.new_zeros(x.size(0), self.hidden_size)
            state = (zeros, zeros)
        return _lstm_step(x, *state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class StackableLSTM(torch.nn.LSTM):
    """nn.LSTM over a PackedSequence or (from fairseq's LSTMEncoder, through the stand-ins above) a PaddedSequence
    (aten::lstm has no batching rule); same parameters. One direction; several layers only without dropout between
    them."""

    def forward(self, sequence, state):
        packed = isinstance(sequence, PackedSequence)
        x, lengths = pad_packed_sequence(sequence) if packed else sequence  # T x B x C, in the batch's own order
        steps = torch.arange(x.size(0)).unsqueeze(1) < lengths.unsqueeze(0)  # T x B: inside the sequence
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            h, c = state[0][layer], state[1][layer]
            weights = [getattr(self, f"{kind}_l{layer}") for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            outputs = []
            for t in range(x.size(0)):
                h_t, c_t = _lstm_step(x[t], h, c, *weights)
                inside = steps[t].unsqueeze(1).to(x.device)
                h, c = torch.where(inside, h_t, h), torch.where(inside, c_t, c)  # a finished sequence keeps its state
                outputs.append(h)
            x = torch.stack(outputs)
            h_n.append(h)
            c_n.append(c)
        outputs = pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else PaddedSequence(x, lengths)
        return outputs, (torch.stack(h_n), torch.stack(c_n))


def make_stackable(model):
    """Turn ``model``'s LSTMs and LSTM cells into their stand-ins in place (same parameters); a one-line reason
    for a module that cannot be stacked."""
    from seq_cli import UsageError

    for name, module in model.named_modules():
        if type(module) is torch.nn.LSTMCell:
            module.__class__ = StackableLSTMCell
        elif type(module) is torch.nn.LSTM:
            if module.bidirectional or module.proj_size or (module.num_layers > 1 and module.dropout > 0):
                raise UsageError(f"module {name} (nn.LSTM) cannot be stacked: only one direction, no projection "
                                 "and no dropout between layers are written for seed_ensemble")
            module.__class__ = StackableLSTM
    return model
