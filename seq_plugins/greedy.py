"""Greedy decoding in batches: token for token what fairseq's SequenceGenerator gives with beam 1, faster.

With beam 1, SequenceGenerator still reorders the encoder output and the decoder's incremental state after every
step, through the identity permutation unless a string has ended: a copy of every cached tensor per step, about a
quarter of the decoding time of ``lstm_seq2seq --attention additive``. This loop makes the same model calls on the
same batches and copies only when strings end. Strings leave the batch at the step they end, as there, rather than
staying in it masked: matrix products on the CPU round differently for different batch sizes, so any other batch
shape could flip a near tie and the tokens would no longer be exactly SequenceGenerator's.
"""
import math

import torch
from fairseq.models import FairseqEncoderDecoderModel, FairseqIncrementalDecoder


def supports(model):
    """Encoder-decoder models with an incremental decoder: rnn_seq2seq's and riglstm_seq2seq's, fairseq's lstm (and
    fast_lstm), fconv and transformer. tools.evaluate decodes the others with SequenceGenerator."""
    return isinstance(model, FairseqEncoderDecoderModel) and isinstance(model.decoder, FairseqIncrementalDecoder)


class GreedyDecoder:
    """``decoder(sample)``: each string's output token ids, end-of-sequence included, in the batch's order.

    SequenceGenerator's length rules: end-of-sequence is forbidden before step ``min_len`` and forced at step
    ``max_len`` (capped, as there, at the model's longest output less one), so an output has at most max_len symbols
    before its end-of-sequence."""

    def __init__(self, model, dictionary, min_len=1, max_len=200):
        if not supports(model):
            raise ValueError(f"{type(model).__name__} has no incremental decoder; decode it with SequenceGenerator")
        self.model = model.eval()
        self.pad, self.eos = dictionary.pad(), dictionary.eos()
        self.min_len, self.max_len = min_len, min(max_len, model.max_decoder_positions() - 1)
        if self.min_len > self.max_len:
            raise ValueError(f"min_len {min_len} exceeds max_len {self.max_len}")

    @torch.no_grad()
    def __call__(self, sample):
        net_input = sample["net_input"]
        bsz = net_input["src_tokens"].size(0)
        device = net_input["src_tokens"].device
        encoder, decoder = self.model.encoder, self.model.decoder
        rows = torch.arange(bsz, device=device)  # each active row's position in the batch
        # the identity reorder SequenceGenerator makes too: the decoder then reads tensors of the same layout
        encoder_out = encoder.reorder_encoder_out(encoder.forward_torchscript(net_input), rows)
        incremental_state = {}
        tokens = torch.full((bsz, self.max_len + 2), self.pad, dtype=torch.long, device=device)
        tokens[:, 0] = self.eos
        score = None  # each active hypothesis's summed log-probability, which SequenceGenerator ranks
        outputs = [None] * bsz
        for step in range(self.max_len + 1):
            decoder_out = decoder(tokens[:, : step + 1], encoder_out=encoder_out, incremental_state=incremental_state)
            lprobs = self.model.get_normalized_probs((decoder_out[0][:, -1:, :], decoder_out[1]), log_probs=True)
            lprobs = lprobs[:, -1, :]
            lprobs[lprobs != lprobs] = -math.inf
            lprobs[:, self.pad] = -math.inf
            if step >= self.max_len:
                lprobs[:, : self.eos] = -math.inf
                lprobs[:, self.eos + 1:] = -math.inf
            if step < self.min_len:
                lprobs[:, self.eos] = -math.inf
            if score is not None:
                lprobs = lprobs + score.unsqueeze(-1)
            # beam search's own call (two candidates): the same choice among exactly equal scores
            top_scores, top_tokens = torch.topk(lprobs, k=min(2, lprobs.size(1) - 1))
            score, tokens[:, step + 1] = top_scores[:, 0], top_tokens[:, 0]
            ended = top_tokens[:, 0].eq(self.eos) & score.ne(-math.inf)
            if not ended.any():
                continue
            ended_rows = ended.nonzero().squeeze(1)
            for row, output in zip(rows[ended_rows].tolist(), tokens[ended_rows, 1: step + 2].tolist()):
                outputs[row] = output
            if ended.all():
                return outputs
            keep = (~ended).nonzero().squeeze(1)
            rows, tokens, score = rows[keep], tokens[keep], score[keep]
            encoder_out = encoder.reorder_encoder_out(encoder_out, keep)
            decoder.reorder_incremental_state_scripting(incremental_state, keep)
        raise RuntimeError(f"no end-of-sequence at step {self.max_len}: the model's scores are not finite")
