"""--arch seed_ensemble: seed s of an ensemble is a single `fairseq-train --seed s` run, for each of FIND's learners.

The exactness contract, checked end to end with stock fairseq-train on FIND's add-or-mul T and the learners' own
grids (dropout 0.5 and clip-norm 25 included): the per-seed losses an ensemble logs equal the single run's at every
update, and the checkpoint tools.split_ensemble writes for that seed holds the single run's weights.
"""
import json
import os
import re
import subprocess
import sys

import pytest
import torch

from preprocess import find
from seq_cli import UsageError
from tests.conftest import on_small_disk
from tools.grid import expand, load_grid, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAIRSEQ_TRAIN = [sys.executable, "-m", "fairseq_cli.train"]  # also where pip --target put no script
UPDATES = 8
# benchmarks/gpu_check.sh runs these on CUDA, where dropout masks are drawn differently: there without dropout
DEVICE = os.environ.get("SEQ_TEST_DEVICE", "cpu")
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")


@pytest.fixture(scope="module")
def train_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("find")
    find.main(["--task", "add-or-mul", "--sizes", "20", "--out", str(out)])
    return str(out / "add-or-mul" / "20" / "fpa" / "data-bin")


def grid_flags(learner, **overrides):
    config = expand(load_grid(os.path.join(ROOT, "hyperparams", "default", f"{learner}.json")))[0]
    config.pop("seed")
    config.update({"max-update": UPDATES, "passes-per-epoch": UPDATES, "log-interval": 1, "log-format": "json",
                   "cpu": DEVICE == "cpu", **overrides})
    if DEVICE != "cpu":
        config["dropout"] = 0
    return render(config)


def train(data, flags, save_dir):
    command = [*FAIRSEQ_TRAIN, data, "--user-dir", os.path.join(ROOT, "seq_plugins"), *flags, "--save-dir", save_dir]
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line.split("| train_inner | ", 1)[1]) for line in (result.stdout + result.stderr).splitlines()
            if "| train_inner | " in line]


def as_ensemble(flags, seeds):
    """The grid's flags with the learner moved to --ensemble-arch."""
    arch = flags.index("--arch")
    return flags[:arch] + ["--arch", "seed_ensemble", "--ensemble-arch", flags[arch + 1],
                           "--ensemble-seeds", seeds] + flags[arch + 2:]


def log_probs(checkpoint, data_bin):
    """The model's log-probabilities of every target symbol of the training set's first batch, teacher-forced."""
    from tools.evaluate import load_model

    model, task = load_model(checkpoint, data_bin)
    task.load_dataset("train")
    sample = next(iter(task.get_batch_iterator(task.dataset("train"), max_sentences=64).next_epoch_itr(shuffle=False)))
    with torch.no_grad():
        return model.get_normalized_probs(model.eval()(**sample["net_input"]), log_probs=True)


@pytest.mark.parametrize("learner", ["transformer_small", "cnn_small", "lstm_attention_small",
                                     "lstm_noattention_small"])
def test_each_seed_of_an_ensemble_is_its_single_run(train_bin, tmp_path, learner):
    from tools.split_ensemble import split

    flags = grid_flags(learner)
    ensemble_log = train(train_bin, as_ensemble(flags, "1,3") + ["--seed", "1"], str(tmp_path / "ensemble"))
    single_log = train(train_bin, flags + ["--seed", "3"], str(tmp_path / "single"))
    # fairseq logs 3 decimals; stacked matrix products may round differently in the last place
    assert [float(e["loss_s3"]) for e in ensemble_log] == pytest.approx([float(s["loss"]) for s in single_log],
                                                                        abs=2e-3)
    assert [float(e["gnorm_s3"]) for e in ensemble_log] == pytest.approx([float(s["gnorm"]) for s in single_log],
                                                                         rel=1e-3)
    assert len(ensemble_log) == UPDATES and ensemble_log[0]["loss_s1"] != ensemble_log[0]["loss_s3"]  # seeds differ

    paths = split(str(tmp_path / "ensemble" / "checkpoint_last.pt"), str(tmp_path / "seed{seed}.pt"))
    mine = torch.load(paths[3], weights_only=True)
    theirs = torch.load(str(tmp_path / "single" / "checkpoint_last.pt"), weights_only=True)
    assert mine["model"].keys() == theirs["model"].keys()
    # the functions, not each parameter: a parameter without gradient in exact arithmetic (a key bias, which
    # softmax ignores) gets rounding noise for a gradient, and Adam turns noise into steps of the learning rate
    single = str(tmp_path / "single" / "checkpoint_last.pt")
    torch.testing.assert_close(log_probs(paths[3], train_bin), log_probs(single, train_bin), rtol=1e-4, atol=1e-4)
    assert mine["cfg"]["model"].arch == theirs["cfg"]["model"].arch
    assert mine["cfg"]["optimization"]["clip_norm"] == theirs["cfg"]["optimization"]["clip_norm"] == 25

    before = os.stat(paths[3]).st_mtime_ns
    with pytest.raises(UsageError, match="exists .*--overwrite"):
        split(str(tmp_path / "ensemble" / "checkpoint_last.pt"), str(tmp_path / "seed{seed}.pt"))
    with pytest.raises(UsageError, match="not a seed_ensemble checkpoint"):
        split(str(tmp_path / "single" / "checkpoint_last.pt"), str(tmp_path / "other{seed}.pt"))
    assert os.stat(paths[3]).st_mtime_ns == before and not list(tmp_path.glob("other*"))
    if learner == "transformer_small":  # a disk too small for the seeds' checkpoints: one line, no partial file
        small = tmp_path / "small"
        result = on_small_disk(small, "python", "-m", "tools.split_ensemble", str(tmp_path / "ensemble" /
                                                                                 "checkpoint_last.pt"),
                               "--out", str(small / "seed{seed}.pt"))
        assert result.returncode == 2 and result.stderr.splitlines() == [
            f"python -m tools.split_ensemble: error: {small / 'seed1.pt'}: No space left on device"]


def test_fast_adam_trains_an_ensembles_seed_as_stock_adam_trains_its_single_run(train_bin, tmp_path):
    flags = grid_flags("transformer_small", **{"warmup-init-lr": 1e-3})  # full steps from the start
    ensemble_log = train(train_bin, as_ensemble(flags, "1,3") + ["--seed", "1", "--optimizer", "fast_adam"],
                         str(tmp_path / "ensemble"))
    single_log = train(train_bin, flags + ["--seed", "3"], str(tmp_path / "single"))
    assert [float(e["loss_s3"]) for e in ensemble_log] == pytest.approx([float(s["loss"]) for s in single_log],
                                                                        abs=2e-3)
    assert float(single_log[-1]["loss"]) < float(single_log[0]["loss"]) / 2  # the updates did move the weights


@pytest.mark.parametrize("flags, message", [
    (["--ensemble-seeds", ""], "--ensemble-seeds is empty"),
    (["--ensemble-seeds", "1,1"], "overlapping ranges"),
    (["--ensemble-seeds", "one"], "'one' is not a range"),
    (["--ensemble-seeds", "1-2", "--encoder-bidirectional"], "module encoder.lstm .* cannot be stacked"),
    (["--ensemble-seeds", "1-2", "--optimizer", "fast_adam", "--fp16-adam-stats"], "need --optimizer adam"),
])
def test_bad_ensembles_are_one_line_errors(train_bin, tmp_path, flags, message):
    command = [*FAIRSEQ_TRAIN, train_bin, "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction",
               "--arch", "seed_ensemble", "--ensemble-arch", "lstm", *flags, "--cpu", "--max-update", "1",
               "--batch-size", "8", "--save-dir", str(tmp_path / "ensemble")]
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=ROOT)
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(errors) == 1 and re.search(message, errors[0]), result.stderr[-2000:]
    assert not list(tmp_path.glob("ensemble/*"))  # fairseq made the directory, nothing was written



def candidates_of(train_bin):
    """add-or-mul's mul candidates next to the FPA data: T, then 6 hold-outs of different lengths."""
    return os.path.join(os.path.dirname(os.path.dirname(train_bin)), "mul", "data-bin")


@pytest.mark.parametrize("learner", ["transformer_small", "cnn_small", "lstm_attention_small",
                                     "lstm_noattention_small"])
def test_a_batch_per_seed_gives_each_seed_its_batchs_loss_gradient_and_code_lengths(train_bin, monkeypatch,
                                                                                      learner):
    """Stacked batches of different widths (seed_ensemble_steps.stack_samples) against each batch given to every
    seed; in-process, in eval mode (dropout masks would have the stacked batch's shape)."""
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    from seq_plugins.criterions.prequential_mdl import PrequentialMDLCriterion
    from seq_plugins.tasks.seed_ensemble_steps import stack_samples

    argv = [candidates_of(train_bin), "--user-dir", os.path.join(ROOT, "seq_plugins"),
            *as_ensemble(grid_flags(learner), "1,3")]
    monkeypatch.setattr(sys, "argv", ["fairseq-train", *argv])  # the ensemble reads --ensemble-arch from it
    cfg = convert_namespace_to_omegaconf(options.parse_args_and_arch(options.get_training_parser(), argv))
    task = tasks.setup_task(cfg.task)
    task.load_dataset("train")
    model, criterion = task.build_model(cfg.model), task.build_criterion(cfg.criterion)
    code_lengths = PrequentialMDLCriterion(task, sentence_avg=True).code_lengths
    dataset = task.dataset("train")
    batches = [dataset.collater([dataset[i] for i in ids]) for ids in ([0, 1, 2], [0, 5, 6])]  # 18, 22 wide
    model.eval()

    def run(sample):
        model.zero_grad()
        losses = model.seed_losses(criterion, sample)[0]
        losses.sum().backward()
        # not the attention key biases: their gradient is 0 in exact arithmetic (a softmax ignores a score added to
        # every key), so what the two computations give is rounding noise of different kernels
        return losses.detach(), [p.grad.clone() for name, p in model.stacked.named_parameters()
                                 if not name.endswith("k_proj__bias")]

    stacked = stack_samples(dataset, batches)
    stacked_losses, stacked_grads = run(stacked)
    stacked_bits = code_lengths(model, stacked)
    for k, batch in enumerate(batches):
        losses, grads = run(batch)
        torch.testing.assert_close(stacked_losses[k], losses[k], rtol=1e-5, atol=0)
        assert stacked_bits[k] == pytest.approx(code_lengths(model, batch)[k], rel=1e-5)
        for stacked, grad in zip(stacked_grads, grads):
            torch.testing.assert_close(stacked[k], grad[k], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("learner,sentence_avg,dropout", [("transformer_small", True, 0), ("cnn_small", False, 0.5)])
def test_each_seed_of_an_ensemble_has_its_single_runs_description_length(train_bin, tmp_path, learner, sentence_avg,
                                                                         dropout):
    """Prequential MDL (seq_plugins/tasks/prequential.py) on add-or-mul's mul candidates, 3 blocks of 2 hold-outs:
    each seed holds out its own permutation, so each seed trains on its own batch, padded to the ensemble's widest,
    and averages its loss over its own sentences or tokens. With dropout, the padded batches give masks of other
    shapes than the single run's, except in the last training (T alone, the same batch for every seed), which
    encodes block 1 and must replay the single run's masks."""
    from tools.split_ensemble import split

    flags = grid_flags(learner, **{"task": "prequential_translation", "criterion": "prequential_mdl",
                                   "mdl-block-size": 2, "dropout": dropout, "sentence-avg": sentence_avg,
                                   "max-update": 4, "passes-per-epoch": 4})
    train(candidates_of(train_bin), as_ensemble(flags, "1,3") + ["--seed", "1"], str(tmp_path / "ensemble"))
    train(candidates_of(train_bin), flags + ["--seed", "3"], str(tmp_path / "single"))
    ensemble = {seed: json.load(open(tmp_path / "ensemble" / f"mdl_seed{seed}.json")) for seed in (1, 3)}
    single = json.load(open(tmp_path / "single" / "mdl.json"))
    assert ensemble[3]["seed"] == single["seed"] == 3 and ensemble[1]["seed"] == 1
    assert len(single["block_codelengths"]) == 3
    assert [e["line"] for e in ensemble[3]["examples"]] == [e["line"] for e in single["examples"]]
    exact = [e["block"] == 1 or dropout == 0 for e in single["examples"]]
    assert [e["bits"] for e, x in zip(ensemble[3]["examples"], exact) if x] == pytest.approx(
        [e["bits"] for e, x in zip(single["examples"], exact) if x], rel=1e-4)
    blocks = len(single["block_codelengths"]) if dropout == 0 else 1
    assert ensemble[3]["block_codelengths"][:blocks] == pytest.approx(single["block_codelengths"][:blocks], rel=1e-4)
    assert [e["line"] for e in ensemble[1]["examples"]] != [e["line"] for e in single["examples"]]  # its own plan

    # the last training (on T alone) ends as checkpoint_last.pt: split, seed 3's is the single run's T-only model,
    # compared as functions (Adam turns the rounding noise of gradients that are 0 in exact arithmetic, the
    # attention key biases', into steps of the learning rate's size)
    paths = split(str(tmp_path / "ensemble" / "checkpoint_last.pt"), str(tmp_path / "seed{seed}.pt"))
    single_checkpoint = str(tmp_path / "single" / "checkpoint_last.pt")
    mine = torch.load(paths[3], weights_only=True)["model"]
    assert mine.keys() == torch.load(single_checkpoint, weights_only=True)["model"].keys()
    data = candidates_of(train_bin)
    torch.testing.assert_close(log_probs(paths[3], data), log_probs(single_checkpoint, data), rtol=1e-4, atol=1e-4)
