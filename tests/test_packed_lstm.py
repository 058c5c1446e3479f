"""packed_lstm computes what nn.LSTM computes on a PackedSequence: outputs, final states and every gradient; and
the meta seq2seq model built on it equals the same model run through nn.LSTM."""
import pytest
import torch
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from seq_plugins.models import meta_seq2seq
from seq_plugins.modules.packed_lstm import packed_lstm, reversal_index
from seq_plugins.modules.uniform_dropout import dropout


def test_reversal_index():
    # lengths 3, 2, 1 packed: step 0 rows 0 1 2, step 1 rows 3 4, step 2 row 5
    assert reversal_index([3, 2, 1]).tolist() == [5, 4, 2, 3, 1, 0]


@pytest.mark.parametrize("bidirectional,with_state", [(True, False), (True, True), (False, True)])
def test_equals_nn_lstm_with_gradients(bidirectional, with_state):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=bidirectional).double()
    directions = 2 if bidirectional else 1
    lengths = torch.tensor([4, 1, 3, 4, 2])
    x = torch.randn(4, 5, 5, dtype=torch.double, requires_grad=True)
    state = tuple(torch.randn(2 * directions, 5, 7, dtype=torch.double, requires_grad=True) for _ in range(2)) \
        if with_state else None
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    expected, (h_ref, c_ref) = lstm(packed, state)
    order = packed.sorted_indices
    out, (h, c) = packed_lstm(lstm, packed.data, packed.batch_sizes.tolist(),
                              None if state is None else tuple(s[:, order] for s in state))
    torch.testing.assert_close(out, expected.data)
    torch.testing.assert_close(h, h_ref[:, order])
    torch.testing.assert_close(c, c_ref[:, order])

    weights = [torch.randn_like(t) for t in (out, h, c)]
    inputs = [*lstm.parameters(), x, *(state or ())]

    def grads(o, hh, cc):
        loss = sum((a * w).sum() for a, w in zip((o, hh, cc), weights))
        return torch.autograd.grad(loss, inputs, retain_graph=True)

    for a, b in zip(grads(expected.data, h_ref[:, order], c_ref[:, order]), grads(out, h, c)):
        torch.testing.assert_close(a, b)


def test_uniform_dropout_keeps_with_probability_one_minus_p():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = dropout(x, 0.3, True)
    assert y.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert abs(y.eq(0).float().mean().item() - 0.3) < 0.005
    assert dropout(x, 0.3, False) is x


def nn_lstm(lstm, data, batch_sizes, state=None):
    """The reference: nn.LSTM itself on the packed sequence."""
    out, state = lstm(PackedSequence(data, torch.tensor(batch_sizes)), state)
    return out.data, state


def test_meta_seq2seq_equals_its_nn_lstm_formulation(monkeypatch):
    """The whole model (memory, decoder attention, loss and every parameter's gradient) on an add-jump episode, once
    with packed_lstm and once with nn.LSTM (float64, dropout off so that both compute the same function)."""
    from tests.test_meta_seq2seq import make_task

    from seq_plugins.tasks.meta_seq2seq_episodes import collate_episode

    task = make_task("scan_prim_permutation")
    sample = collate_episode(task.training_episode(1, 0), task.src_dict, task.tgt_dict, score_support=True)
    torch.manual_seed(0)
    model = meta_seq2seq.MetaSeq2Seq(meta_seq2seq.MetaSeq2SeqConfig(hidden_size=16, dropout=0.0), task.src_dict,
                                     task.tgt_dict).double().train()

    def loss_and_grads():
        logits, _ = model(**sample["net_input"])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), sample["target"].reshape(-1),
                               ignore_index=task.tgt_dict.pad(), reduction="sum")
        return loss, torch.autograd.grad(loss, list(model.parameters()))

    loss, grads = loss_and_grads()
    monkeypatch.setattr(meta_seq2seq, "packed_lstm", nn_lstm)
    expected_loss, expected_grads = loss_and_grads()
    torch.testing.assert_close(loss, expected_loss)
    for (name, _), a, b in zip(model.named_parameters(), grads, expected_grads):
        torch.testing.assert_close(a, b, msg=name)
