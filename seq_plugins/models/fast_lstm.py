"""``--arch fast_lstm``: fairseq's stock ``lstm`` model, trained several times faster on small batches.

The very model of ``--arch lstm`` (the same options and defaults, the same initialization from the same seed, the
same parameter names, so checkpoints are interchangeable), except that in training the decoder's recurrence runs
as one autograd function with a hand-written backward (seq_plugins/modules/lstm_decoder_recurrence.py). That is
what makes FIND's one-example LSTM trainings affordable on a CPU. Results equal stock ``lstm``'s up to
floating-point summation order, dropout masks included (tests/test_fast_lstm.py).
"""
from fairseq.models import register_model, register_model_architecture
from fairseq.models.lstm import LSTMDecoder, LSTMModel, base_architecture

from seq_plugins.modules.lstm_decoder_recurrence import DecoderRecurrence


class FastLSTMDecoder(LSTMDecoder):
    def extract_features(self, prev_output_tokens, encoder_out=None, incremental_state=None):
        p = self.dropout_out_module.p
        if not self.training or incremental_state is not None or encoder_out is None or p >= 1:
            return super().extract_features(prev_output_tokens, encoder_out, incremental_state)
        encoder_outs, hiddens, cells, padding_mask = encoder_out[:4]
        hiddens, cells = hiddens[: self.num_layers], cells[: self.num_layers]
        if self.encoder_hidden_proj is not None:
            hiddens, cells = self.encoder_hidden_proj(hiddens), self.encoder_cell_proj(cells)
        x = self.dropout_in_module(self.embed_tokens(prev_output_tokens)).transpose(0, 1)
        weights = [w for cell in self.layers for w in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
        if self.attention is not None:
            weights += [self.attention.input_proj.weight, self.attention.output_proj.weight]
        x = DecoderRecurrence.apply(x.contiguous(), hiddens, cells, encoder_outs, padding_mask, p,
                                    self.attention is not None, *weights).transpose(0, 1)
        if hasattr(self, "additional_fc") and self.adaptive_softmax is None:
            x = self.dropout_out_module(self.additional_fc(x))
        return x, None  # stock returns no attention in training


@register_model("fast_lstm")
class FastLSTMModel(LSTMModel):
    @classmethod
    def build_model(cls, args, task):
        model = super().build_model(args, task)
        model.decoder.__class__ = FastLSTMDecoder  # the same modules and parameters, only the loop differs
        return model


@register_model_architecture("fast_lstm", "fast_lstm")
def fast_lstm(args):
    base_architecture(args)
