"""A multi-layer (bidirectional) LSTM over packed sequences, computing exactly what ``nn.LSTM`` does with the same
parameters, with far fewer small operations: the CPU time of meta seq2seq's batches of 20 to 60 short sequences
goes to per-step overhead, not to arithmetic.

- the input projection of all time steps (both directions) is one matrix product per layer;
- both directions run in one loop, each step one batched product ``h W_hh^T`` for the two of them;
- the backward pass is written by hand: per step only the product with ``W_hh`` and a few element-wise operations
  (the gate derivatives are computed for all steps at once), and ``W_hh``'s gradient is one matrix product over
  all steps instead of one product and one accumulation per step (nn.LSTM on CPU also re-slices its packed input
  at every step, and the backward of each slice writes a zero tensor the size of the whole input).

Sequences travel packed (``torch.nn.utils.rnn.pack_padded_sequence``'s data and batch sizes: rows of step t are the
first ``batch_sizes[t]`` sequences, sorted by decreasing length), so no step computes on padding. Dropout between
layers acts on the packed rows. Gate order and parameter names are nn.LSTM's, so checkpoints are interchangeable;
tests/test_packed_lstm.py checks outputs, final states and every gradient against nn.LSTM.
"""
import torch

from seq_plugins.modules.uniform_dropout import dropout


class _Recurrence(torch.autograd.Function):
    """The recurrence of D directions at once over packed rows: inputs xproj (D, N, 4m) = x W_ih^T + biases,
    w_hh (D, 4m, m), initial states h0, c0 (D, B, m); outputs H (D, N, m) and the final h, c (D, B, m) of each
    sequence. Direction d's rows must already be in its own reading order (reversed ones reversed)."""

    @staticmethod
    def forward(ctx, xproj, w_hh, h0, c0, batch_sizes):
        m = w_hh.size(2)
        w_t = w_hh.transpose(1, 2)
        h, c = h0, c0
        outputs, cells, acts, h_prev, c_prev, h_last, c_last = [], [], [], [], [], [], []
        start = 0
        for t, b in enumerate(batch_sizes):
            if b < h.size(1):  # sequences b.. ended at the previous step
                h_last.append(h[:, b:])
                c_last.append(c[:, b:])
                h, c = h[:, :b], c[:, :b]
            a = torch.baddbmm(xproj[:, start:start + b], h, w_t)
            a[..., :2 * m].sigmoid_()
            a[..., 2 * m:3 * m].tanh_()
            a[..., 3 * m:].sigmoid_()
            i, f, g, o = a.split(m, dim=2)
            h_prev.append(h)
            c_prev.append(c)
            c = torch.addcmul(f * c, i, g)
            h = o * torch.tanh(c)
            acts.append(a)
            cells.append(c)
            outputs.append(h)
            start += b
        h_last.append(h)
        c_last.append(c)
        h_n, c_n = torch.cat(h_last[::-1], dim=1), torch.cat(c_last[::-1], dim=1)
        ctx.batch_sizes = batch_sizes
        ctx.save_for_backward(w_hh, torch.cat(acts, dim=1), torch.cat(cells, dim=1), torch.cat(h_prev, dim=1),
                              torch.cat(c_prev, dim=1))
        return torch.cat(outputs, dim=1), h_n, c_n

    @staticmethod
    def backward(ctx, grad_out, grad_h_n, grad_c_n):
        w_hh, acts, cells, h_prev, c_prev = ctx.saved_tensors
        batch_sizes = ctx.batch_sizes
        m = w_hh.size(2)
        i, f, g, o = acts.split(m, dim=2)
        tanh_c = torch.tanh(cells)
        # d(gate pre-activations) = [dc, dc, dc, dh] * these factors, for all steps at once
        factors = torch.cat([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g), tanh_c * o * (1 - o)], dim=2)
        to_cell = o * (1 - tanh_c * tanh_c)  # dc += dh * this
        dh, dc = grad_h_n[:, :0], grad_c_n[:, :0]
        grads = []
        end = acts.size(1)
        for b in reversed(batch_sizes):
            if b > dh.size(1):  # sequences dh.size(1)..b end at this step: their final-state gradients enter
                dh = torch.cat([dh, grad_h_n[:, dh.size(1):b]], dim=1)
                dc = torch.cat([dc, grad_c_n[:, dc.size(1):b]], dim=1)
            start = end - b
            dh = dh + grad_out[:, start:end]
            dc = torch.addcmul(dc, dh, to_cell[:, start:end])
            d_gates = torch.cat([dc, dc, dc, dh], dim=2).mul_(factors[:, start:end])
            grads.append(d_gates)
            dc = dc * f[:, start:end]
            dh = torch.bmm(d_gates, w_hh)
            end = start
        d_xproj = torch.cat(grads[::-1], dim=1)
        d_w_hh = torch.bmm(d_xproj.transpose(1, 2), h_prev)
        return d_xproj, d_w_hh, dh, dc, None


def reversal_index(batch_sizes):
    """Index of packed rows that reverses every sequence in time (the packing of the reversed sequences is the
    same, since their lengths are)."""
    sizes = torch.as_tensor(batch_sizes)
    lengths = (torch.arange(int(sizes[0]))[:, None] < sizes[None, :]).sum(1)  # per sequence
    offsets = torch.cumsum(sizes, 0) - sizes
    t = torch.arange(len(sizes))[:, None].expand(-1, int(sizes[0]))
    row = torch.arange(int(sizes[0]))[None, :].expand_as(t)
    valid = t < lengths[None, :]
    source_t = lengths[None, :] - 1 - t
    return (offsets[source_t.clamp(min=0)] + row)[valid]  # rows in packed (time-major) order


def packed_lstm(lstm, data, batch_sizes, state=None):
    """What ``lstm(PackedSequence(data, batch_sizes), state)`` computes: packed outputs (N, D*m) and the final
    (h, c), each (layers*D, B, m), for ``lstm`` an nn.LSTM (batch_first=False, no projections). ``batch_sizes`` is a
    list of ints; states and outputs are in packed (sorted) order."""
    directions = 2 if lstm.bidirectional else 1
    m = lstm.hidden_size
    batch = batch_sizes[0]
    reverse = reversal_index(batch_sizes).to(data.device) if directions == 2 else None
    suffixes = [""] + (["_reverse"] if directions == 2 else [])
    h_n, c_n = [], []
    x = data
    for layer in range(lstm.num_layers):
        names = [f"l{layer}{s}" for s in suffixes]
        w_ih = torch.cat([getattr(lstm, f"weight_ih_{n}") for n in names])
        bias = torch.cat([getattr(lstm, f"bias_ih_{n}") + getattr(lstm, f"bias_hh_{n}") for n in names])
        xproj = torch.addmm(bias, x, w_ih.t()).view(-1, directions, 4 * m).transpose(0, 1)
        if directions == 2:
            xproj = torch.stack([xproj[0], xproj[1, reverse]])
        w_hh = torch.stack([getattr(lstm, f"weight_hh_{n}") for n in names])
        if state is None:
            h0 = c0 = data.new_zeros(directions, batch, m)
        else:
            h0, c0 = (s[layer * directions:(layer + 1) * directions] for s in state)
        out, h, c = _Recurrence.apply(xproj.contiguous(), w_hh, h0, c0, batch_sizes)
        h_n.append(h)
        c_n.append(c)
        x = out[0] if directions == 1 else torch.cat([out[0], out[1, reverse]], dim=1)
        if layer < lstm.num_layers - 1:
            x = dropout(x, lstm.dropout, lstm.training)
    return x, (torch.cat(h_n), torch.cat(c_n))
