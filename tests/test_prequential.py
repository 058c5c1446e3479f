"""Prequential description length inside stock fairseq-train (--task prequential_translation)."""
import json
import math

import pytest
import torch

from tests.conftest import ROOT, run_cli

T = [("a a a", "b b b b b b")]
HOLDOUT = ["a", "a a", "a a a a", "a a a a a"]
UPDATES = 30
LEARNER = ["--arch", "lstm", "--encoder-embed-dim", "8", "--decoder-embed-dim", "8", "--decoder-out-embed-dim", "8",
           "--encoder-hidden-size", "32", "--decoder-hidden-size", "32", "--dropout", "0.3",
           "--optimizer", "adam", "--lr", "0.01", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "10",
           "--warmup-init-lr", "1e-5", "--max-update", str(UPDATES), "--batch-size", "5000", "--seed", "3",
           "--no-epoch-checkpoints", "--disable-validation", "--save-interval", "100000"]


def mul(src):
    return " ".join(["b"] * (2 * len(src.split())))


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """A candidate data set (T then the hold-out labelled by `mul`) and an FPA one (T only), sharing symbol ids."""
    from preprocess.binarize import SOURCE_LANG, TARGET_LANG, binarize, build_dictionary

    root = tmp_path_factory.mktemp("prequential")
    candidate = T + [(src, mul(src)) for src in HOLDOUT]
    # padded to a multiple of 8 like preprocess.find's (and fairseq-preprocess's): never-seen symbols
    dictionaries = {lang: build_dictionary((pair[side] for pair in candidate), padding_factor=8)
                    for side, lang in enumerate((SOURCE_LANG, TARGET_LANG))}
    split = lambda pairs: ([s for s, _ in pairs], [t for _, t in pairs])  # noqa: E731
    binarize({"train": split(candidate), "valid": split(T)}, str(root / "mul" / "data-bin"), dictionaries)
    binarize({"train": split(T), "valid": split(T)}, str(root / "fpa" / "data-bin"), dictionaries)
    return root


def train(data_bin, save_dir, task_args):
    result = run_cli(["fairseq-train", str(data_bin), "--user-dir", f"{ROOT}/seq_plugins", "--save-dir",
                      str(save_dir), *task_args, *LEARNER])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


MDL_ARGS = ["--task", "prequential_translation", "--criterion", "prequential_mdl", "--mdl-train-examples", "1",
            "--mdl-block-size", "3", "--mdl-encode-first-block", "--passes-per-epoch", "4"]


@pytest.fixture(scope="module")
def mdl_run(datasets):
    save_dir = datasets / "mdl_run"
    result = train(datasets / "mul" / "data-bin", save_dir, MDL_ARGS)
    return save_dir, result


def test_record_layout_and_block_plan(mdl_run):
    save_dir, result = mdl_run
    record = json.load(open(save_dir / "mdl.json"))
    assert record["block_codelengths"] and len(record["block_codelengths"]) == 2  # 4 hold-outs in blocks of 3
    assert record["examples_seen"] == [1, 4]
    assert sorted(e["line"] for e in record["examples"]) == [2, 3, 4, 5]
    assert [sum(1 for e in record["examples"] if e["block"] == b) for b in (1, 2)] == [3, 1]
    assert record["updates_per_block"] == UPDATES
    assert "num_updates: 60 >= max_update: 60" in result.stdout  # the task made room for both trainings
    # T under a uniform code over {b, end-of-sequence} (not the padding symbols): 7 target tokens of 1 bit
    assert record["first_block_bits"] == pytest.approx(7 * math.log2(2))
    total = sum(record["block_codelengths"]) + record["first_block_bits"]
    assert record["description_length"] == pytest.approx(total)
    for block, bits in enumerate(record["block_codelengths"], start=1):
        assert bits == pytest.approx(sum(e["bits"] for e in record["examples"] if e["block"] == block))


def final_weights(save_dir):
    import seq_plugins  # noqa: F401  (allowlists the Namespace that stock lstm checkpoints hold)

    return torch.load(save_dir / "checkpoint_last.pt", weights_only=True)["model"]


def assert_same_weights(ours, theirs):
    assert ours.keys() == theirs.keys()
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], rtol=0, atol=0, msg=name)


@pytest.fixture(scope="module")
def plain_run(datasets):
    """A plain fairseq-train run on T alone: one update per epoch."""
    train(datasets / "fpa" / "data-bin", datasets / "plain", ["--task", "transduction"])
    return datasets / "plain"


def test_last_training_restarts_weights_optimizer_and_schedule(mdl_run, plain_run):
    """The last of the K trainings (on T alone) must equal a plain fairseq-train run on T from scratch. It would
    not if the initial weights, Adam's moments, the LR schedule or the dropout seeds carried over."""
    assert_same_weights(final_weights(mdl_run[0]), final_weights(plain_run))


def test_passes_per_epoch_give_the_weights_of_one_update_epochs(plain_run, datasets):
    """Seven passes over T's single batch per epoch: 5 epochs instead of 30, the same weights bit for bit."""
    result = train(datasets / "fpa" / "data-bin", datasets / "passes", ["--task", "transduction",
                                                                          "--passes-per-epoch", "7"])
    assert "begin training epoch 5" in result.stdout and "begin training epoch 6" not in result.stdout
    assert_same_weights(final_weights(datasets / "passes"), final_weights(plain_run))


def test_code_lengths_match_an_independent_computation(mdl_run, datasets):
    """Block 1 is encoded by the model trained on T alone, i.e. checkpoint_last.pt: recompute its code lengths
    one example and one step at a time, in float64."""
    from fairseq import checkpoint_utils

    import seq_plugins  # noqa: F401

    save_dir, _ = mdl_run
    record = json.load(open(save_dir / "mdl.json"))
    models, _cfg, task = checkpoint_utils.load_model_ensemble_and_task(
        [str(save_dir / "checkpoint_last.pt")], arg_overrides={"data": str(datasets / "mul" / "data-bin")})
    model = models[0].eval()
    task.load_dataset("train")
    dataset = task.dataset("train")
    eos = task.target_dictionary.eos()
    checked = 0
    for example in record["examples"]:
        if example["block"] != 1:
            continue
        item = dataset[example["line"] - 1]
        src, tgt = item["source"].unsqueeze(0), item["target"]
        bits = 0.0
        with torch.no_grad():
            for t in range(len(tgt)):
                prev = torch.cat([torch.tensor([eos]), tgt[:t]]).unsqueeze(0)
                logits = model(src, torch.tensor([src.size(1)]), prev)[0][0, -1].double()
                bits -= torch.log_softmax(logits, dim=-1)[tgt[t]].item() / math.log(2)
        assert example["bits"] == pytest.approx(bits, rel=1e-5)
        checked += 1
    assert checked == 3


def test_same_seed_same_numbers(mdl_run, datasets):
    save_dir, _ = mdl_run
    again = datasets / "mdl_again"
    train(datasets / "mul" / "data-bin", again, MDL_ARGS)
    assert json.load(open(again / "mdl.json")) == json.load(open(save_dir / "mdl.json"))


@pytest.mark.parametrize("args,message", [
    (["--mdl-train-examples", "5"], "--mdl-train-examples 5 must be between 1 and the train split's size 5 minus 1"),
    (["--mdl-train-examples", "1", "--mdl-block-size", "0"], "--mdl-block-size must be at least 1, got 0"),
    (["--mdl-train-examples", "1", "--criterion", "cross_entropy"], "needs --criterion prequential_mdl"),
])
def test_bad_options_fail_in_one_line(datasets, tmp_path, args, message):
    result = run_cli(["fairseq-train", str(datasets / "mul" / "data-bin"), "--user-dir", f"{ROOT}/seq_plugins",
                      "--save-dir", str(tmp_path / "x"), *LEARNER, "--task", "prequential_translation",
                      "--criterion", "prequential_mdl", *args])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "x" / "mdl.json").exists()


def test_candidate_must_start_with_t(datasets, tmp_path):
    """With a preprocess.find layout (<task>/<size>/rules.json above the data set), T is checked line by line."""
    from preprocess.binarize import binarize

    size_dir = tmp_path / "add-or-mul" / "3"
    (size_dir).mkdir(parents=True)
    (size_dir / "rules.json").write_text(json.dumps({"train": [["a a a", "b b b b b b"]]}))
    binarize({"train": (["a a", "a a a"], ["b b b b", "b b b b b b"]), "valid": (["a a a"], ["b b b b b b"])},
             str(size_dir / "mul" / "data-bin"))
    result = run_cli(["fairseq-train", str(size_dir / "mul" / "data-bin"), "--user-dir", f"{ROOT}/seq_plugins",
                      "--save-dir", str(tmp_path / "x"), *LEARNER, "--task", "prequential_translation",
                      "--criterion", "prequential_mdl"])
    assert result.returncode != 0
    assert "train line 1 of" in result.stderr and "the candidate data must start with T" in result.stderr


@pytest.mark.parametrize("results", [[{"block": 1}], {5: []}], ids=["older-version", "other-seeds"])
def test_resume_refuses_progress_it_cannot_continue(tmp_path, results):
    """A resumed run whose mdl_progress.pt has no per-seed results for its seeds stops with one clear line."""
    from seq_cli import UsageError
    from seq_plugins.tasks.prequential import PrequentialTranslationTask

    progress = tmp_path / "mdl_progress.pt"
    torch.save({"initial_weights": {}, "results": results}, progress)
    task = object.__new__(PrequentialTranslationTask)
    task.seeds, task.updates_per_block, task._progress_path = [3], UPDATES, lambda: str(progress)
    with pytest.raises(UsageError, match="holds no results for seeds 3 .* remove it and the checkpoints"):
        task._resume(1, 0)
