from . import rnn_seq2seq  # noqa: F401  (registers srnn_seq2seq, gru_seq2seq, lstm_seq2seq)
from . import lookup_rnn  # noqa: F401  (registers lookup_rnn)
from . import fast_lstm  # noqa: F401  (registers fast_lstm: stock lstm, weight gradients once per sequence)
from . import meta_seq2seq  # noqa: F401  (registers meta_seq2seq)
