"""FPA: greedy dumps in file order with empty outputs possible, and aggregation over seeds."""
import json

import pytest

from seq_cli import UsageError
from tests.conftest import ROOT, run_cli
from tools import fpa

RULES = {
    "train": [["a a a", "b b b b b b"]],
    "probes": ["a a", "a a a", "a a a a"],
    "rules": {"mem": ["b b b b b b"] * 3,
              "add": ["b b b b b", "b b b b b b", "b b b b b b b"],
              "mul": ["b b b b", "b b b b b b", "b b b b b b b b"]},
}


def records(preds):
    return [{"id": i, "src": src, "pred": p, "src_len": len(src.split()), "pred_len": len(p.split())}
            for i, (src, p) in enumerate(zip(RULES["probes"], preds))]


def test_aggregate_on_hand_made_dumps():
    dumps = {
        "seed1": records(RULES["rules"]["mul"]),
        "seed2": records(RULES["rules"]["add"]),
        "seed3": records(["b b b b", "b b b b b b", "b b b b b b b"]),  # mul on m=2, add on m=4: neither
        "seed4": records(RULES["rules"]["mul"]),
    }
    result = fpa.aggregate(RULES, dumps)
    assert result["probes"] == ["a a", "a a a a"]  # the training input is not scored
    assert result["fpa"] == {"mem": 0.0, "add": 0.25, "mul": 0.5} and result["none"] == 0.25
    assert result["per_probe"]["mul"] == [0.75, 0.5] and result["per_probe"]["add"] == [0.25, 0.5]
    assert result["per_probe_mean"]["mul"] == 0.625
    assert [seed["rule"] for seed in result["seeds"].values()] == ["mul", "add", None, "mul"]
    report = fpa.format_report(result).splitlines()
    assert "  mul        0.50   per probe 0.62" in report and "  none       0.25" in report
    assert report[-4:] == ["  seed1 -> mul", "  seed2 -> add",
                           "  seed3 -> none: follows mul up to probe a^2, then a^4 -> b^7 (add)", "  seed4 -> mul"]
    # every seed reproduces the training example, so including it changes nothing here but the probe count
    with_train = fpa.aggregate(RULES, dumps, include_train=True)
    assert with_train["fpa"] == result["fpa"] and len(with_train["per_probe"]["mem"]) == 3
    # follows mul on the held-out probes, not on T
    broken = dict(dumps, seed5=records(["b b b b", " ".join(["b"] * 75), "b b b b b b b b"]))
    assert fpa.aggregate(RULES, broken)["fpa"]["mul"] == 0.6
    with_train = fpa.aggregate(RULES, broken, include_train=True)
    assert with_train["fpa"]["mul"] == 0.4 and with_train["none"] == 0.4
    assert with_train["seeds"]["seed5"]["why_none"] == "output b^75 for T's a^3 (T: b^6)"
    # an output no rule gives is named before a mix of rules
    odd = fpa.aggregate(RULES, {"seed6": records(["b b b b", "b b b b b b", "b a b"])})
    assert (odd["none"], odd["seeds"]["seed6"]["why_none"]) == (1.0, "probe a^4 -> b a b, no rule's output")
    assert fpa.compact("") == "(empty)" and fpa.compact("a b " * 30) == "a b " * 10 + "... (60 symbols)"
    for result in (fpa.aggregate(RULES, broken), with_train, odd):  # a seed follows at most one rule
        assert sum(result["fpa"].values()) + result["none"] == pytest.approx(1.0)


def test_aggregate_needs_rules_that_the_scored_probes_tell_apart():
    with pytest.raises(UsageError, match="no probe left to score"):
        fpa.aggregate(dict(RULES, train=[[src, "x"] for src in RULES["probes"]]), {"s": records(["b"] * 3)})
    twins = dict(RULES, rules={**RULES["rules"], "twice": RULES["rules"]["mul"]})
    with pytest.raises(UsageError, match="rules 'mul' and 'twice' give the same output on every scored probe"):
        fpa.aggregate(twins, {"s": records(RULES["rules"]["mul"])})


def test_aggregate_rejects_bad_dumps(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(UsageError, match="empty.jsonl is empty"):
        fpa.read_dump(str(empty))
    for number, lines in ((1, ["[1, 2]"]), (3, [json.dumps(records(["b"])[0]), "", '{"id": 1, "pred": "b"}'])):
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(lines) + "\n")
        expected = "not a JSON object" if number == 1 else "no string 'src'"
        with pytest.raises(UsageError, match=f"^dump {bad} line {number}: {expected}; make dumps with"):
            fpa.read_dump(str(bad))
    with pytest.raises(UsageError, match="does not hold the probes of the rules file in order"):
        fpa.aggregate(RULES, {"x": records(RULES["rules"]["mul"])[::-1]})
    result = run_cli(["python", "-m", "tools.fpa", "aggregate", "--rules", str(tmp_path / "none.json"), str(empty)])
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"python -m tools.fpa: error: rules {tmp_path / 'none.json'}: No such file or directory"]


@pytest.fixture(scope="module")
def empty_output_model(tmp_path_factory):
    """A tiny LSTM trained until it maps the empty input to the empty output."""
    from preprocess.binarize import binarize

    root = tmp_path_factory.mktemp("fpa")
    train = (["a a", "", "a", "a a a"], ["b b", "", "b", "b b b"])
    probes = (["a a a", "", "a", "a a"], ["b b b", "", "b", "b b"])
    binarize({"train": train, "valid": train, "test": probes}, str(root / "fpa" / "data-bin"))
    result = run_cli(["fairseq-train", str(root / "fpa" / "data-bin"), "--user-dir", f"{ROOT}/seq_plugins", "--task",
                      "transduction", "--arch", "lstm", "--encoder-embed-dim", "8", "--decoder-embed-dim", "8",
                      "--decoder-out-embed-dim", "8", "--encoder-hidden-size", "32", "--decoder-hidden-size", "32",
                      "--optimizer", "adam", "--lr", "0.02", "--max-update", "150", "--batch-size", "10", "--seed", "1",
                      "--save-dir", str(root / "ck"), "--no-epoch-checkpoints", "--disable-validation",
                      "--save-interval", "100000"], python_warnings="default")
    assert result.returncode == 0, result.stderr[-3000:]
    # the plugin silences hydra's deprecation warnings (caused by fairseq's calls), and only those: torch's show
    assert "hydra" not in result.stderr.lower() and "Warning: " in result.stderr
    return root


def test_dump_keeps_file_order_and_allows_empty_outputs(empty_output_model, tmp_path, monkeypatch):
    root = empty_output_model
    out = tmp_path / "dump.jsonl"
    monkeypatch.setenv("SEQ_PROGRESS_SECONDS", "0")  # a progress line after every batch (stderr is no terminal)
    result = run_cli(["python", "-m", "tools.fpa", "dump", "--checkpoint", str(root / "ck" / "checkpoint_last.pt"),
                      "--data", str(root / "fpa"), "--out", str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert [line for line in result.stderr.splitlines() if line.startswith("decoding test: ")][-1].startswith(
        "decoding test: 4/4 strings (100%), ")
    dumped = [json.loads(line) for line in open(out)]
    assert [r["id"] for r in dumped] == [0, 1, 2, 3]
    assert [r["src"] for r in dumped] == ["a a a", "", "a", "a a"]  # file order, not fairseq's length order
    assert dumped[1] == {"id": 1, "src": "", "pred": "", "src_len": 0, "pred_len": 0}
    assert [r["pred"] for r in dumped] == ["b b b", "", "b", "b b"]


def test_fairseq_default_minimum_length_forbids_the_empty_output(empty_output_model):
    import seq_plugins  # noqa: F401
    from tools.evaluate import load_model, predict_split

    model, task = load_model(str(empty_output_model / "ck" / "checkpoint_last.pt"),
                             str(empty_output_model / "fpa" / "data-bin"))
    predictions = {i: p for i, _s, p, _t in predict_split(model, task, "test", 10, min_len=1)}
    assert len(predictions[1]) > 1  # something other than end-of-sequence was forced first
    import torch

    assert torch.is_grad_enabled()  # loading and decoding leave later training in this process alone


def test_dump_rejects_an_empty_probe_split(empty_output_model, tmp_path):
    from preprocess.binarize import binarize

    binarize({"train": (["a"], ["b"]), "test": ([], [])}, str(tmp_path / "empty" / "data-bin"))
    result = run_cli(["python", "-m", "tools.fpa", "dump", "--checkpoint",
                      str(empty_output_model / "ck" / "checkpoint_last.pt"), "--data", str(tmp_path / "empty"),
                      "--out", str(tmp_path / "d.jsonl")])
    assert result.returncode == 2 and "is empty" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "d.jsonl").exists()


def test_transformer_lm_learner_decodes_in_batches_as_one_by_one(tmp_path):
    """FIND's transformer_lm learner is stock `transformer` with --cross-self-attention (the decoder's
    self-attention also reads the encoder's states). Its incremental decoding, many probes of different lengths in
    one batch, must give what decoding each probe alone gives."""
    import seq_plugins  # noqa: F401
    from preprocess.binarize import binarize
    from tools.evaluate import load_model, predict_split

    pairs = [("a " * m, "b " * (2 * m)) for m in range(1, 7)]
    split = ([s.strip() for s, _ in pairs], [t.strip() for _, t in pairs])
    binarize({"train": split, "valid": split, "test": split}, str(tmp_path / "fpa" / "data-bin"))
    result = run_cli(["fairseq-train", str(tmp_path / "fpa" / "data-bin"), "--user-dir", f"{ROOT}/seq_plugins",
                      "--task", "transduction", "--arch", "transformer", "--cross-self-attention",
                      "--encoder-layers", "1", "--decoder-layers", "1", "--encoder-embed-dim", "16",
                      "--decoder-embed-dim", "16", "--encoder-ffn-embed-dim", "32", "--decoder-ffn-embed-dim", "32",
                      "--encoder-attention-heads", "2", "--decoder-attention-heads", "2", "--optimizer", "adam",
                      "--lr", "0.01", "--max-update", "60", "--batch-size", "10", "--seed", "1", "--save-dir",
                      str(tmp_path / "ck"), "--no-epoch-checkpoints", "--disable-validation", "--num-workers", "0"])
    assert result.returncode == 0, result.stderr[-3000:]
    model, task = load_model(str(tmp_path / "ck" / "checkpoint_last.pt"), str(tmp_path / "fpa" / "data-bin"))
    assert model.decoder.layers[0].cross_self_attention
    batched = {i: p for i, _s, p, _t in predict_split(model, task, "test", 100, min_len=0, max_len=20)}
    alone = {i: p for i, _s, p, _t in predict_split(model, task, "test", 1, min_len=0, max_len=20)}
    assert batched == alone and len(batched) == 6
    assert len({len(p) for p in batched.values()}) > 1  # outputs of several lengths: padding was exercised
