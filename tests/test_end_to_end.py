"""generate -> binarize -> fairseq-train --user-dir seq_plugins -> fairseq-generate / tools.evaluate -> metrics,
and the safety of loading checkpoints under torch's weights_only unpickler."""
import json
import os
import pickle

import pytest
import torch

from tests.conftest import ROOT, run_cli

USER_DIR = os.path.join(ROOT, "seq_plugins")


def hypotheses(stdout):
    return {int(line.split("\t")[0][2:]): line.split("\t")[2] for line in stdout.splitlines() if line.startswith("H-")}


def test_trained_model_reproduces_identity_in_distribution(trained_run):
    rows = [json.loads(line) for line in open(trained_run / "eval.jsonl")]
    test = [r for r in rows if r["split"] == "test"]
    assert sorted(r["length"] for r in test) == [3, 4, 5]
    assert sorted(r["length"] for r in rows if r["split"] == "ood") == [1, 2, 6, 7]
    assert all(r["n"] == 20 for r in test)
    id_accuracy = sum(r["full_seq_acc"] * r["n"] for r in test) / sum(r["n"] for r in test)
    assert id_accuracy >= 0.9
    for r in rows:  # full-sequence accuracy bounds the two softer metrics from below
        assert 0 <= r["full_seq_acc"] <= r["first_n_acc"] <= 1 and r["full_seq_acc"] <= r["overlap"] <= 1
    assert (trained_run / "accuracy.png").stat().st_size > 1000
    record = json.load(open(trained_run / "run.json"))
    assert record["train_command"][0] == "fairseq-train" and "--user-dir" in record["train_command"]


def test_stock_fairseq_generate_sees_every_example_and_agrees_with_evaluate(trained_run, tiny_identity):
    checkpoint = str(trained_run / "checkpoints" / "checkpoint_best.pt")
    data_bin = str(tiny_identity / "data-bin")
    for split, size in (("valid", 3 * 7), ("test", 3 * 20)):  # 21 and 60: neither is a multiple of 8
        result = run_cli(["fairseq-generate", data_bin, "--user-dir", USER_DIR, "--task", "transduction",
                          "--path", checkpoint, "--gen-subset", split, "--beam", "1", "--batch-size", "7"])
        assert result.returncode == 0, result.stderr[-2000:]
        assert sorted(hypotheses(result.stdout)) == list(range(size))
    # the accuracy that fairseq-generate's output implies equals the one tools.evaluate recorded
    targets = {int(l.split("\t")[0][2:]): l.split("\t")[1] for l in result.stdout.splitlines() if l.startswith("T-")}
    generated = hypotheses(result.stdout)
    correct = sum(generated[i] == targets[i] for i in targets)
    rows = [json.loads(line) for line in open(trained_run / "eval.jsonl")]
    recorded = sum(r["full_seq_acc"] * r["n"] for r in rows if r["split"] == "test")
    assert correct == round(recorded)


def test_our_task_batches_every_example_where_stock_translation_drops_some(tiny_identity):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    seen = {}
    for task_name in ("transduction", "translation"):
        args = options.parse_args_and_arch(options.get_training_parser(), [
            str(tiny_identity / "data-bin"), "--user-dir", USER_DIR, "--task", task_name, "--arch", "lstm",
            "--source-lang", "src", "--target-lang", "tgt"])
        task = tasks.setup_task(convert_namespace_to_omegaconf(args).task)
        task.load_dataset("valid")
        # fairseq-train passes its --required-batch-size-multiple, 8 by default
        iterator = task.get_batch_iterator(task.dataset("valid"), max_sentences=5, required_batch_size_multiple=8)
        batches = iterator.next_epoch_itr(shuffle=False)
        seen[task_name] = sorted(i for batch in batches for i in batch["id"].tolist())
    seen["ours"], seen["stock"] = seen["transduction"], seen["translation"]
    assert seen["ours"] == list(range(21))
    assert len(seen["stock"]) < 21  # the defect we guard against; if fairseq fixes it, this documents it


def test_missing_split_is_one_line(trained_run, tiny_identity):
    result = run_cli(["fairseq-generate", str(tiny_identity / "data-bin"), "--user-dir", USER_DIR, "--task",
                      "transduction", "--path", str(trained_run / "checkpoints" / "checkpoint_best.pt"),
                      "--gen-subset", "ood_instr"])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr  # (fairseq-generate itself logs hydra DEBUG lines to stderr)
    assert result.stderr.strip().splitlines()[-1] == (
        f"fairseq-generate: error: data directory {tiny_identity / 'data-bin'} has no split 'ood_instr' "
        "(it has: ood, test, train, valid)")


@pytest.fixture(scope="module")
def stock_lstm_checkpoint(tiny_identity, tmp_path_factory):
    """FIND's learners are stock fairseq architectures, whose checkpoints store an argparse.Namespace."""
    save_dir = tmp_path_factory.mktemp("stock_lstm")
    result = run_cli(["fairseq-train", str(tiny_identity / "data-bin"), "--user-dir", USER_DIR, "--task",
                      "transduction", "--arch", "lstm", "--encoder-embed-dim", "16", "--decoder-embed-dim", "16",
                      "--decoder-out-embed-dim", "16", "--encoder-hidden-size", "32", "--decoder-hidden-size", "32",
                      "--optimizer", "adam", "--lr", "0.01", "--max-update", "3", "--batch-size", "50",
                      "--save-dir", str(save_dir), "--no-epoch-checkpoints", "--disable-validation"])
    assert result.returncode == 0, result.stderr[-2000:]
    return save_dir / "checkpoint_last.pt"


@pytest.mark.parametrize("plugin", [True, False])
def test_stock_generate_loads_stock_checkpoint_only_with_the_plugin(stock_lstm_checkpoint, tiny_identity, plugin):
    args = ["fairseq-generate", str(tiny_identity / "data-bin"), "--path", str(stock_lstm_checkpoint),
            "--gen-subset", "valid", "--beam", "1", "--source-lang", "src", "--target-lang", "tgt"]
    result = run_cli(args + (["--user-dir", USER_DIR, "--task", "transduction"] if plugin else []))
    if plugin:
        assert result.returncode == 0, result.stderr[-2000:]
        assert len(hypotheses(result.stdout)) == 21
    else:  # documents why the plugin is needed: torch's weights_only load refuses the Namespace
        assert result.returncode != 0 and "argparse.Namespace" in result.stderr


def test_allowlist_covers_exactly_what_checkpoints_hold(stock_lstm_checkpoint, trained_run):
    from seq_plugins.checkpoint_safety import FAIRSEQ_CHECKPOINT_GLOBALS

    allowed = {f"{g.__module__}.{g.__qualname__}" for g in FAIRSEQ_CHECKPOINT_GLOBALS}
    # a fresh interpreter, where the plugin has not extended torch's safe list yet
    probe = "import sys, torch; print(*torch.serialization.get_unsafe_globals_in_checkpoint(sys.argv[1]))"
    for checkpoint, expected in ((stock_lstm_checkpoint, allowed),
                                 (trained_run / "checkpoints" / "checkpoint_best.pt", set())):
        result = run_cli(["python", "-c", probe, str(checkpoint)])
        assert result.returncode == 0, result.stderr
        assert set(result.stdout.split()) == expected


class Payload:
    def __reduce__(self):
        return (os.system, ("echo unsafe",))


def test_plugin_keeps_weights_only_loading_strict(tmp_path):
    import seq_plugins  # noqa: F401  (installs the allowlist)

    path = tmp_path / "evil.pt"
    torch.save({"x": Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") is None


def test_evaluate_and_run_reject_bad_input(trained_run, tiny_identity, tmp_path):
    checkpoint = str(trained_run / "checkpoints" / "checkpoint_best.pt")
    cases = [
        (["python", "-m", "tools.evaluate", "--data", str(tmp_path), "--checkpoint", checkpoint, "--out-dir",
          str(tmp_path / "e")], "holds no config.json and data-bin/"),
        (["python", "-m", "tools.evaluate", "--data", str(tiny_identity), "--checkpoint", str(tmp_path / "no.pt"),
          "--out-dir", str(tmp_path / "e")], "does not exist"),
        (["python", "-m", "tools.evaluate", "--data", str(tiny_identity), "--checkpoint", checkpoint,
          "--splits", "test,ood_instr", "--out-dir", str(tmp_path / "e")], "has no split 'ood_instr'"),
        (["python", "-m", "tools.transduction_run", "--data", str(tiny_identity), "--grid", "tests/grids/tiny.json",
          "--out", str(tmp_path / "r")], "names 4 runs; fix arch, attention with --set"),
        (["python", "-m", "tools.transduction_run", "--data", str(tiny_identity), "--grid", str(tmp_path / "x.json"),
          "--out", str(tmp_path / "r")], "x.json: No such file or directory"),
        (["python", "-m", "tools.transduction_run", "--data", str(tiny_identity), "--grid", "tests/grids/tiny.json",
          "--set", "arch=gru_seq2seq", "--set", "attention=none", "--out", str(trained_run)],
         "holds a run with another configuration"),
        (["python", "-m", "tools.transduction_run", "--data", str(tiny_identity), "--grid", "tests/grids/tiny.json",
          "--out", str(tmp_path / "r"), "--threads", "0"], "--threads must be at least 1, got 0"),
    ]
    for args, message in cases:
        result = run_cli(args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "e").exists() and not (tmp_path / "r").exists()


def test_bad_grid_names_file_and_line(tmp_path):
    from seq_cli import UsageError
    from tools.grid import load_grid

    path = tmp_path / "g.json"
    path.write_text('{"lr": [0.1,\n "seed": 1}')
    with pytest.raises(UsageError, match=r"g.json: not valid JSON at line 2"):
        load_grid(path)
    path.write_text('{"lr": []}')
    with pytest.raises(UsageError, match=r"key 'lr' has an empty list"):
        load_grid(path)


def test_finished_run_is_skipped(trained_run):
    result = run_cli(["python", "-m", "tools.transduction_run", "--data", json.load(open(trained_run / "run.json"))["data"],
                      "--grid", "tests/grids/tiny.json", "--set", "arch=lstm_seq2seq", "--set", "attention=additive",
                      "--out", str(trained_run)])
    assert result.returncode == 0 and "is finished; nothing to do" in result.stdout
    assert result.stdout.splitlines()[0] == ("python -m tools.transduction_run: 1 thread per run (the fastest for one "
                                             "small training here, docs/benchmarks.md; --threads to change)")
