"""fairseq LSTMDecoder's training-time recurrence (input feeding, LSTM cells, attention, dropout) as one autograd
function with a hand-written backward.

With one example per batch, each decoder step is a few matrix-vector products and some twenty small operations.
Autograd records every one of them, replays them backward, and adds each step's weight gradient (an outer product
the size of the weight) to a running sum. Here the forward runs without autograd and keeps only what the backward
needs; the backward computes the gates' local derivatives for all steps at once, walks the steps in reverse
computing only what feeds the recurrence, and gets each weight's gradient afterwards from one matrix product over
all steps (Gᵀ X). Dropout masks are drawn in stock order, with stock's shapes, from the same generator, so the
numbers are stock's up to floating-point summation order.
"""
import torch


def _draw_mask(slot, p):
    """Fill ``slot`` with what F.dropout(x, p, training=True) multiplies x by on the CPU: the same draws."""
    return slot.bernoulli_(1 - p).div_(1 - p)


class DecoderRecurrence(torch.autograd.Function):
    """outs (T, B, H) of LSTMDecoder.extract_features' loop, before additional_fc.

    inputs: x (T, B, E) embedded targets after dropout_in; h0, c0 (L, B, H); enc (S, B, D) encoder outputs;
    pad (S, B) or None; p the dropout_out probability (0 when off); attention a bool; then the weights:
    per layer weight_ih, weight_hh, bias_ih, bias_hh, and with attention input_proj.weight, output_proj.weight.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, enc, pad, p, attention, *weights):
        steps, batch, embed = x.shape
        layers, _, hidden = h0.shape
        cells = [weights[4 * l: 4 * l + 4] for l in range(layers)]
        new = x.new_empty
        # inputs[l][t]: layer l's input at step t; layer 0's is (embedding, previous output)
        inputs = [new(steps, batch, embed + hidden)] + [new(steps, batch, hidden) for _ in range(layers - 1)]
        gates, cs, tanh_cs, hs = ([new(steps, batch, n * hidden) for _ in range(layers)] for n in (4, 1, 1, 1))
        between_masks = [new(steps, batch, hidden) for _ in range(layers - 1)] if p else []
        discarded = new(batch, hidden)  # stock draws a mask for the top layer's output too, and never uses it
        out_masks = new(steps, batch, hidden) if p else None
        outs = new(steps, batch, hidden)
        inputs[0][:, :, :embed] = x
        inputs[0][0, :, embed:] = 0
        step_inputs, step_gates, step_cs, step_tanh_cs, step_hs, step_between = (
            [b.unbind(0) for b in buffers] for buffers in (inputs, gates, cs, tanh_cs, hs, between_masks))
        step_outs, feeds = outs.unbind(0), inputs[0][:, :, embed:].unbind(0)
        step_out_masks = out_masks.unbind(0) if p else None
        if attention:
            w_in, w_out = weights[4 * layers:]
            enc_bsd = enc.transpose(0, 1).contiguous()
            pad_bs = pad.t() if pad is not None else None
            queries, contexts = new(steps, batch, enc.size(2)), new(steps, batch, enc.size(2))
            attn, tanh_outs = new(steps, batch, enc.size(0)), new(steps, batch, hidden)
            step_queries, step_contexts, step_attn, step_tanh_outs = (
                b.unbind(0) for b in (queries, contexts, attn, tanh_outs))
        biases = [b_ih + b_hh for _, _, b_ih, b_hh in cells]
        h_prev, c_prev = list(h0.unbind(0)), list(c0.unbind(0))
        for t in range(steps):
            for l, (w_ih, w_hh, _, _) in enumerate(cells):
                z = torch.addmm(biases[l], step_inputs[l][t], w_ih.t(), out=step_gates[l][t])
                z.addmm_(h_prev[l], w_hh.t())
                i, f, g, o = z.chunk(4, 1)
                i.sigmoid_(), f.sigmoid_(), g.tanh_(), o.sigmoid_()
                c = torch.addcmul(f * c_prev[l], i, g, out=step_cs[l][t])
                h = torch.mul(o, torch.tanh(c, out=step_tanh_cs[l][t]), out=step_hs[l][t])
                h_prev[l], c_prev[l] = h, c
                if l + 1 < layers:
                    if p:
                        torch.mul(h, _draw_mask(step_between[l][t], p), out=step_inputs[l + 1][t])
                    else:
                        step_inputs[l + 1][t].copy_(h)
                elif p:
                    _draw_mask(discarded, p)
            if attention:
                q = torch.mm(h, w_in.t(), out=step_queries[t])
                scores = torch.bmm(enc_bsd, q.unsqueeze(2)).squeeze(2)
                if pad_bs is not None:
                    scores = scores.masked_fill_(pad_bs, float("-inf"))
                a = step_attn[t]
                a.copy_(torch.softmax(scores, dim=1))
                context = torch.bmm(a.unsqueeze(1), enc_bsd, out=step_contexts[t].unsqueeze(1)).squeeze(1)
                out = torch.tanh(torch.cat((context, h), dim=1).mm(w_out.t()), out=step_tanh_outs[t])
            else:
                out = h
            if p:
                out = torch.mul(out, _draw_mask(step_out_masks[t], p), out=step_outs[t])
            else:
                step_outs[t].copy_(out)
            if t + 1 < steps:
                feeds[t + 1].copy_(out)
        ctx.p, ctx.attention, ctx.layers, ctx.embed = p, attention, layers, embed
        saved = [h0, c0, *weights, *inputs, *gates, *cs, *tanh_cs, *hs, *between_masks]
        if p:
            saved.append(out_masks)
        if attention:
            saved += [enc_bsd, queries, contexts, attn, tanh_outs]
        ctx.save_for_backward(*saved)
        return outs

    @staticmethod
    def backward(ctx, grad_outs):
        p, attention, layers, embed = ctx.p, ctx.attention, ctx.layers, ctx.embed
        saved = list(ctx.saved_tensors)

        def take(n):
            taken = saved[:n]
            del saved[:n]
            return taken

        h0, c0 = take(2)
        weights = take(4 * layers + (2 if attention else 0))
        inputs, gates, cs, tanh_cs, hs = (take(layers) for _ in range(5))
        between_masks = take(layers - 1) if p else []
        out_masks = take(1)[0] if p else None
        steps, batch, hidden = grad_outs.shape
        cells = [weights[4 * l: 4 * l + 4] for l in range(layers)]
        # every step's local derivatives at once: dz = dc * (g i', c_prev f', i g') and dh * tanh(c) o'
        local_c, local_h, dtanh_cs, forgets = [], [], [], []
        for l in range(layers):
            i, f, g, o = gates[l].chunk(4, 2)
            c_prev = torch.cat((c0[l].unsqueeze(0), cs[l][:-1]))
            local_c.append(torch.stack((g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)), dim=2).unbind(0))
            local_h.append((tanh_cs[l] * o * (1 - o)).unbind(0))
            dtanh_cs.append((o * (1 - tanh_cs[l] * tanh_cs[l])).unbind(0))
            forgets.append(f.unbind(0))
        grad_gates = [grad_outs.new_empty(steps, batch, 4, hidden) for _ in range(layers)]
        step_grad_gates = [g.unbind(0) for g in grad_gates]
        step_between = [m.unbind(0) for m in between_masks]
        step_out_masks = out_masks.unbind(0) if p else None
        grad_x = grad_outs.new_empty(steps, batch, embed)
        if attention:
            enc_bsd, queries, contexts, attn, tanh_outs = take(5)
            w_in, w_out = weights[4 * layers:]
            source = enc_bsd.size(2)
            step_dtanh_outs = (1 - tanh_outs * tanh_outs).unbind(0)
            grad_pre_tanh, grad_queries = torch.empty_like(tanh_outs), torch.empty_like(queries)
            grad_contexts, grad_scores = torch.empty_like(contexts), torch.empty_like(attn)
            step_attn = attn.unbind(0)
            step_grad_pre_tanh, step_grad_queries, step_grad_contexts, step_grad_scores = (
                b.unbind(0) for b in (grad_pre_tanh, grad_queries, grad_contexts, grad_scores))
        grad_feed = grad_outs.new_zeros(batch, hidden)
        grad_h = [grad_outs.new_zeros(batch, hidden) for _ in range(layers)]
        grad_c = [grad_outs.new_zeros(batch, hidden) for _ in range(layers)]
        for t in reversed(range(steps)):
            grad_out = grad_outs[t] + grad_feed
            if p:
                grad_out = grad_out * step_out_masks[t]
            if attention:
                du = torch.mul(grad_out, step_dtanh_outs[t], out=step_grad_pre_tanh[t])
                grad_cat = du.mm(w_out)
                grad_context = step_grad_contexts[t]
                grad_context.copy_(grad_cat[:, :source])
                a = step_attn[t]
                grad_a = torch.bmm(enc_bsd, grad_context.unsqueeze(2)).squeeze(2)
                ds = torch.mul(a, grad_a - (a * grad_a).sum(dim=1, keepdim=True), out=step_grad_scores[t])
                dq = torch.bmm(ds.unsqueeze(1), enc_bsd, out=step_grad_queries[t].unsqueeze(1)).squeeze(1)
                grad_top = grad_cat[:, source:].addmm(dq, w_in)
            else:
                grad_top = grad_out
            for l in reversed(range(layers)):
                w_ih, w_hh, _, _ = cells[l]
                dh = grad_h[l] + grad_top
                dc = grad_c[l].addcmul(dh, dtanh_cs[l][t])
                dz = step_grad_gates[l][t]
                torch.mul(dc.unsqueeze(1), local_c[l][t], out=dz[:, :3])
                torch.mul(dh, local_h[l][t], out=dz[:, 3])
                dz = dz.view(batch, 4 * hidden)
                grad_c[l] = dc * forgets[l][t]
                grad_h[l] = dz.mm(w_hh)
                grad_in = dz.mm(w_ih)
                if l:
                    grad_top = grad_in * step_between[l - 1][t] if p else grad_in
                else:
                    grad_x[t] = grad_in[:, :embed]
                    grad_feed = grad_in[:, embed:]

        def outer(grads, xs):  # Σ_t grads[t]ᵀ xs[t]: a weight's gradient over all steps
            return grads.reshape(-1, grads.size(-1)).t().mm(xs.reshape(-1, xs.size(-1)))

        grad_weights = []
        for l in range(layers):
            dz = grad_gates[l].view(steps, batch, 4 * hidden)
            h_prev = torch.cat((h0[l].unsqueeze(0), hs[l][:-1]))
            bias = dz.sum(dim=(0, 1))
            grad_weights += [outer(dz, inputs[l]), outer(dz, h_prev), bias, bias.clone()]
        grad_enc = None
        if attention:
            top = hs[-1]
            grad_weights += [outer(grad_queries, top), outer(grad_pre_tanh, torch.cat((contexts, top), dim=2))]
            grad_enc = (torch.einsum("tbs,tbd->sbd", attn, grad_contexts)
                        + torch.einsum("tbs,tbd->sbd", grad_scores, queries))
        return (grad_x, torch.stack(grad_h), torch.stack(grad_c), grad_enc, None, None, None, *grad_weights)
