"""Run-time stand-ins for the few stock fairseq pieces that torch.func.vmap cannot batch, used only while a
seed_ensemble runs its stacked seeds (seq_plugins/models/seed_ensemble.py); each computes exactly what it replaces."""
import contextlib

import torch


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


def _replacements():
    from fairseq.models import fconv

    return [(fconv, "GradMultiply", GradMultiply)]


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
    """nn.LSTM over a PackedSequence, as fairseq's LSTMEncoder calls it (aten::lstm has no batching rule); same
    parameters. One direction; several layers only without dropout between them."""

    def forward(self, packed, state):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        x, lengths = pad_packed_sequence(packed)  # T x B x C, in the batch's own order
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
        return pack_padded_sequence(x, lengths, enforce_sorted=False), (torch.stack(h_n), torch.stack(c_n))


def make_stackable(model):
    """Turn ``model``'s LSTMs and LSTM cells into their stand-ins in place (same parameters); a one-line reason
    for a module that cannot be stacked."""
    from seq_plugins.cli import UsageError

    for name, module in model.named_modules():
        if type(module) is torch.nn.LSTMCell:
            module.__class__ = StackableLSTMCell
        elif type(module) is torch.nn.LSTM:
            if module.bidirectional or module.proj_size or (module.num_layers > 1 and module.dropout > 0):
                raise UsageError(f"module {name} (nn.LSTM) cannot be stacked: only one direction, no projection "
                                 "and no dropout between layers are written for seed_ensemble")
            module.__class__ = StackableLSTM
        elif type(module).__name__.startswith("Stepped"):  # fast_lstm's deferred gradients (never stacked)
            raise UsageError(f"module {name} ({type(module).__name__}) cannot be stacked")
    return model
