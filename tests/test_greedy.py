"""seq_plugins.greedy: batched greedy decoding gives, token for token, what fairseq's SequenceGenerator gives with
beam 1, under the same length rules (min_len, max_len), for our RNN seq2seq models and fairseq's own."""
import collections
import os

import pytest
import torch

from tests.conftest import ROOT
from tests.test_model import VARIANTS, randomize

SPLITS = ("train", "test", "ood")  # 440 strings of input lengths 1-7 in tiny_identity
STOCK = {
    "lstm": ["--encoder-embed-dim", "8", "--decoder-embed-dim", "8", "--decoder-out-embed-dim", "8",
             "--encoder-hidden-size", "16", "--decoder-hidden-size", "16"],
    "fconv": ["--encoder-embed-dim", "8", "--decoder-embed-dim", "8", "--decoder-out-embed-dim", "8",
              "--encoder-layers", "[(16,3)]", "--decoder-layers", "[(16,3)]"],
    "transformer": ["--encoder-layers", "1", "--decoder-layers", "1", "--encoder-embed-dim", "16",
                    "--decoder-embed-dim", "16", "--encoder-ffn-embed-dim", "32", "--decoder-ffn-embed-dim", "32",
                    "--encoder-attention-heads", "2", "--decoder-attention-heads", "2"],
}


def build(data_bin, arch, flags):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    args = options.parse_args_and_arch(options.get_training_parser(), [
        data_bin, "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction", "--arch", arch, *flags])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    torch.manual_seed(0)
    return task.build_model(cfg.model).eval(), task


def both_decoders(model, task, batch_size=16, **lengths):
    """{split: {id: output}} from the greedy loop and from SequenceGenerator."""
    from tools.evaluate import predict_split

    return [{split: {i: p for i, _s, p, _t in predict_split(model, task, split, batch_size, **lengths,
                                                             sequence_generator=generator)} for split in SPLITS}
            for generator in (False, True)]


def output_lengths(outputs):
    return collections.Counter(len(p) for by_id in outputs.values() for p in by_id.values())


def first_step_margins(model, task):
    """Per string of SPLITS: how far end-of-sequence's logit is below the best other symbol's at the first
    decoding step (padding excluded, as both decoders exclude it)."""
    eos, pad = task.target_dictionary.eos(), task.target_dictionary.pad()
    margins = []
    for split in SPLITS:
        task.load_dataset(split)
        for sample in task.get_batch_iterator(task.dataset(split), max_sentences=64).next_epoch_itr(shuffle=False):
            net_input = {**sample["net_input"], "prev_output_tokens": torch.full_like(sample["target"][:, :1], eos)}
            with torch.no_grad():
                logits = model(**net_input)[0][:, 0].clone()
            at_eos = logits[:, eos].clone()
            logits[:, [eos, pad]] = float("-inf")
            margins += (logits.max(dim=1).values - at_eos).tolist()
    return sorted(margins)


def eos_shift_between(margins):
    """A shift of end-of-sequence's bias that ends some strings at once and not others, in the middle of the widest
    gap between the middle half of the margins: no string's first choice is within rounding of a tie."""
    middle = margins[len(margins) // 4: 3 * len(margins) // 4 + 1]
    gap, low = max((b - a, a) for a, b in zip(middle, middle[1:]))
    return low + gap / 2


@pytest.mark.parametrize("min_len,max_len,end_early", [(1, None, False), (1, 4, False), (0, 6, True)])
def test_trained_model_decodes_as_sequence_generator(trained_run, tiny_identity, min_len, max_len, end_early):
    """A trained LSTM with attention; with end_early, end-of-sequence's bias is raised so that some strings end at
    once (empty outputs: the min_len = 0 path) and the others later."""
    from seq_plugins import greedy
    from tools.evaluate import load_model

    model, task = load_model(str(trained_run / "checkpoints" / "checkpoint_best.pt"), str(tiny_identity / "data-bin"))
    assert greedy.supports(model)
    eos = task.target_dictionary.eos()
    if end_early:
        with torch.no_grad():
            model.decoder.output_projection.bias[eos] += eos_shift_between(first_step_margins(model, task))
    fast, reference = both_decoders(model, task, min_len=min_len, max_len=max_len)
    assert fast == reference
    lengths = output_lengths(fast)  # end-of-sequence included
    assert sum(lengths.values()) == 440 and all(p[-1] == eos for by_id in fast.values() for p in by_id.values())
    if max_len:
        assert max(lengths) <= max_len + 1
    if max_len and not end_early:  # strings that hit max_len: end-of-sequence forced after max_len symbols
        assert lengths[max_len + 1] > 0
    if end_early:
        assert lengths[1] > 0 and len(lengths) >= 2  # empty outputs, and strings that go on
    else:
        assert lengths[1] == 0
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("arch,flags", [
    pytest.param(arch, ["--attention", attention, "--embed-dim", "8", "--hidden-size", "16"], id=f"{arch}-{attention}")
    for arch, attention in VARIANTS] + [pytest.param(arch, flags, id=arch) for arch, flags in STOCK.items()])
def test_random_models_decode_as_sequence_generator(tiny_identity, arch, flags):
    from seq_plugins import greedy

    model, task = build(str(tiny_identity / "data-bin"), arch, flags)
    randomize(model, seed=3)
    assert greedy.supports(model)
    fast, reference = both_decoders(model, task, batch_size=50, min_len=0, max_len=9)
    assert fast == reference


def test_min_len_above_max_len_is_refused(tiny_identity):
    from seq_plugins.greedy import GreedyDecoder

    model, task = build(str(tiny_identity / "data-bin"), "lstm_seq2seq", ["--hidden-size", "16"])
    with pytest.raises(ValueError, match="min_len 3 exceeds max_len 2"):
        GreedyDecoder(model, task.target_dictionary, min_len=3, max_len=2)
