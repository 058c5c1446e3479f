"""``--arch fast_lstm``: fairseq's stock ``lstm`` model, trained about three times faster on small batches.

The very model of ``--arch lstm`` (the same options and defaults, the same initialization from the same seed, the
same parameter names, so checkpoints are interchangeable), except that during training the decoder's recurrent
cells and attention projections compute their weight gradients once per sequence instead of once per step
(seq_plugins/modules/deferred_weight_grad.py). That is what makes FIND's one-example LSTM trainings affordable on a
CPU. Results equal stock ``lstm``'s up to floating-point summation order (tests/test_fast_lstm.py).
"""
from fairseq.models import register_model, register_model_architecture
from fairseq.models.lstm import LSTMModel, base_architecture

from seq_plugins.modules.deferred_weight_grad import deferred_weight_gradients, make_stepped


@register_model("fast_lstm")
class FastLSTMModel(LSTMModel):
    @classmethod
    def build_model(cls, args, task):
        model = super().build_model(args, task)
        decoder = model.decoder
        for cell in decoder.layers:
            make_stepped(cell)
        if decoder.attention is not None:
            make_stepped(decoder.attention.input_proj)
            make_stepped(decoder.attention.output_proj)
        return model

    def forward(self, src_tokens, src_lengths, prev_output_tokens, **kwargs):
        batch, steps = prev_output_tokens.shape
        with deferred_weight_gradients(self.decoder, steps, batch):
            return super().forward(src_tokens, src_lengths, prev_output_tokens, **kwargs)


@register_model_architecture("fast_lstm", "fast_lstm")
def fast_lstm(args):
    base_architecture(args)
