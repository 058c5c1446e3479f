"""--arch fast_lstm is stock fairseq `lstm` with a hand-written decoder backward: the same model."""
import os

import pytest
import torch

from tests.conftest import ROOT


def build(arch, data_bin, extra):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    parsed = options.parse_args_and_arch(options.get_training_parser(), [
        str(data_bin), "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction", "--arch", arch,
        "--encoder-embed-dim", "8", "--decoder-embed-dim", "8", "--encoder-hidden-size", "24",
        "--decoder-hidden-size", "24", "--decoder-out-embed-dim", "24", "--dropout", "0.3", *extra])
    cfg = convert_namespace_to_omegaconf(parsed)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("train")
    torch.manual_seed(0)
    return task.build_model(cfg.model), task.dataset("train")


@pytest.fixture(scope="module")
def data_bin(tmp_path_factory):
    from preprocess.binarize import binarize

    dest = tmp_path_factory.mktemp("fast_lstm")
    src = ["a b c", "c", "b a a b c a", "a a"]
    binarize({"train": (src, [" ".join(reversed(s.split())) for s in src])}, str(dest))
    return dest


def loss_and_grads(model, sample):
    model.zero_grad()
    torch.manual_seed(1)  # the same dropout masks
    output = model(**sample["net_input"])
    lprobs = model.get_normalized_probs(output, log_probs=True)
    mask = sample["target"].ne(1)
    loss = -(lprobs.gather(-1, sample["target"].unsqueeze(-1)).squeeze(-1) * mask).sum()
    loss.backward()
    return loss.item(), {name: p.grad for name, p in model.named_parameters()}


@pytest.mark.parametrize("extra", [
    ["--decoder-attention", "1"],
    ["--decoder-attention", "0"],
    ["--decoder-attention", "1", "--decoder-layers", "2", "--encoder-layers", "2"],
    ["--decoder-attention", "1", "--encoder-bidirectional", "--decoder-out-embed-dim", "16"],
    ["--decoder-attention", "0", "--decoder-layers", "2", "--encoder-layers", "2", "--dropout", "0"],
], ids=["attention", "no-attention", "two-layers", "bidirectional-projections", "no-dropout"])
def test_same_weights_outputs_and_gradients_as_stock_lstm(data_bin, extra):
    stock, dataset = build("lstm", data_bin, extra)
    fast, _ = build("fast_lstm", data_bin, extra)
    assert stock.state_dict().keys() == fast.state_dict().keys()
    for name, value in stock.state_dict().items():
        assert torch.equal(value, fast.state_dict()[name]), name  # same initialization from the same seed
    sample = dataset.collater([dataset[i] for i in range(len(dataset))])  # padded batch of 4
    stock_loss, stock_grads = loss_and_grads(stock.train(), sample)
    fast_loss, fast_grads = loss_and_grads(fast.train(), sample)
    assert fast_loss == pytest.approx(stock_loss, rel=1e-6)
    for name, grad in stock_grads.items():
        assert fast_grads[name] is not None, name
        torch.testing.assert_close(fast_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    with torch.no_grad():  # evaluation and generation take the stock code path
        stock.eval(), fast.eval()
        assert torch.equal(stock(**sample["net_input"])[0], fast(**sample["net_input"])[0])
