from . import rnn_seq2seq  # noqa: F401  (registers srnn_seq2seq, gru_seq2seq, lstm_seq2seq)
