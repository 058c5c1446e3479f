"""The RNN seq2seq family: incremental greedy decoding agrees with teacher forcing, padding is never read,
and the initialisation is the paper's."""
import os

import pytest
import torch

from tests.conftest import ROOT

VARIANTS = [(arch, attention) for arch in ("srnn_seq2seq", "gru_seq2seq", "lstm_seq2seq")
            for attention in ("none", "additive")]


def build(data_bin, arch, attention, seed=0):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [
        data_bin, "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction", "--arch", arch,
        "--attention", attention, "--embed-dim", "8", "--hidden-size", "16"])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    torch.manual_seed(seed)
    model = task.build_model(cfg.model).eval()
    return task, model


def randomize(model, seed):
    """Large random weights and biases, so that every position and every state feature matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator))


def sample_of(task, split, ids):
    dataset = task.dataset(split)
    return dataset.collater([dataset[i] for i in ids])


@pytest.fixture(scope="module")
def data_bin(tiny_identity):
    return str(tiny_identity / "data-bin")


@pytest.mark.parametrize("arch,attention", VARIANTS)
def test_greedy_generation_equals_teacher_forced_argmax(data_bin, arch, attention):
    from fairseq.dataclass.configs import GenerationConfig

    task, model = build(data_bin, arch, attention)
    randomize(model, seed=1)
    task.load_dataset("ood")
    sample = sample_of(task, "ood", range(12))  # lengths 1-2 and 6-7: padding on both sides of the batch
    max_len = 12
    generator = task.build_generator([model], GenerationConfig(beam=1, max_len_a=0, max_len_b=max_len))
    with torch.no_grad():
        hypotheses = task.inference_step(generator, [model], sample)
        eos, pad = task.target_dictionary.eos(), task.target_dictionary.pad()
        compared = 0
        for i, hypothesis in enumerate(hypotheses):
            tokens = hypothesis[0]["tokens"]
            prev = torch.cat([torch.tensor([eos]), tokens[:-1]]).unsqueeze(0)
            src = sample["net_input"]["src_tokens"][i:i + 1]
            src = src[:, src[0].ne(pad)]
            logits, _ = model(src, torch.tensor([src.size(1)]), prev)
            logits[..., pad] = float("-inf")  # the generator never emits padding ...
            logits[0, 0, eos] = float("-inf")  # ... nor end-of-sequence first (min_len=1)
            forced_last = len(tokens) > max_len  # the generator forces eos when out of room
            steps = len(tokens) - 1 if forced_last else len(tokens)
            assert logits[0, :steps].argmax(-1).tolist() == tokens[:steps].tolist()
            compared += steps
    assert compared > 20


@pytest.mark.parametrize("arch,attention", VARIANTS)
def test_batched_padded_forward_equals_one_by_one(data_bin, arch, attention):
    """The encoder and the attention must not read padding: each example's scores are the same alone or in a
    batch with longer and shorter neighbours."""
    task, model = build(data_bin, arch, attention)
    randomize(model, seed=2)
    task.load_dataset("ood")
    ids = [0, 5, 25, 39]
    batch = sample_of(task, "ood", ids)
    lengths = batch["net_input"]["src_lengths"].tolist()
    assert len(set(lengths)) > 1, "the batch must mix lengths"
    with torch.no_grad():
        batched, _ = model(**batch["net_input"])
        pad = task.target_dictionary.pad()
        for row in range(len(ids)):
            alone = sample_of(task, "ood", [batch["id"][row].item()])
            single, _ = model(**alone["net_input"])
            target_len = alone["target"].ne(pad).sum().item()
            torch.testing.assert_close(batched[row, :target_len], single[0, :target_len], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("arch", ["srnn_seq2seq", "lstm_seq2seq"])
def test_initialisation_xavier_weights_zero_biases(data_bin, arch):
    _task, model = build(data_bin, arch, "additive")
    biases = [p for n, p in model.named_parameters() if p.dim() == 1]
    assert biases and all(torch.count_nonzero(b) == 0 for b in biases)
    for embedding in (model.encoder.embed_tokens, model.decoder.embed_tokens):
        assert torch.count_nonzero(embedding.weight[embedding.padding_idx]) == 0
    recurrent = model.encoder.rnn.weight_hh_l0
    fan_out, fan_in = recurrent.shape
    bound = (6 / (fan_in + fan_out)) ** 0.5
    assert recurrent.abs().max() <= bound and recurrent.abs().max() > 0.8 * bound


def test_paper_defaults(data_bin):
    from seq_plugins.models.rnn_seq2seq import RNNSeq2SeqConfig

    cfg = RNNSeq2SeqConfig()
    assert (cfg.embed_dim, cfg.hidden_size, cfg.num_layers, str(cfg.attention)) == (128, 512, 1, "none")


@pytest.mark.parametrize("cell", ["srnn", "gru", "lstm"])
def test_decoder_step_equals_the_module_it_reads_its_weights_from(cell):
    from seq_plugins.models.rnn_seq2seq import RNN_CELLS, RNNDecoder, RNNState

    class Symbols:
        def __len__(self):
            return 10

        def pad(self):
            return 1

    torch.manual_seed(0)
    decoder = RNNDecoder(Symbols(), cell, embed_dim=4, hidden_size=6, num_layers=2, dropout=0.0, attention=True,
                         max_target_positions=100)
    assert isinstance(decoder.rnn, RNN_CELLS[cell])
    x = torch.randn(3, 4 + 6)
    state = [torch.randn(2, 3, 6) for _ in range(2 if cell == "lstm" else 1)]
    expected, expected_state = decoder.rnn(x.unsqueeze(0), RNNState.to_module(cell, state))
    output, new_state = decoder.step(x, state)
    torch.testing.assert_close(output, expected[0])
    for ours, theirs in zip(new_state, RNNState.from_module(cell, expected_state)):
        torch.testing.assert_close(ours, theirs)
