"""tools/report.py on hand-made sweep results: grouping, mean ± SD, FPA fractions, partly finished sweeps."""
import csv
import json
import os
import re

import pytest

from seq_cli import UsageError
from tests.conftest import run_cli
from tools import report

# (arch, seed) -> result.json fields; transformer seed 2 failed, seed 3 has not finished
RESULTS = {
    ("lstm", 1): {"valid_loss": 1.0, "wall_time_s": 10.0, "fpa": {"add": 0.0, "mul": 1.0},
                  "description_length": {"add": 10.0, "mul": 5.0}},
    ("lstm", 2): {"valid_loss": 2.0, "wall_time_s": 20.0, "fpa": {"add": 0.0, "mul": 1.0},
                  "description_length": {"add": 12.0, "mul": 5.0}},
    ("lstm", 3): {"valid_loss": 3.0, "wall_time_s": 30.0, "fpa": {"add": 1.0, "mul": 0.0},
                  "description_length": {"add": 14.0, "mul": 5.0}},
    ("transformer", 1): {"valid_loss": None, "wall_time_s": 7.0, "fpa": {"add": 0.0, "mul": 0.0},
                         "description_length": {"add": 20.0, "mul": 30.0}},
}


def make_sweep(root, name, archs=("lstm", "transformer")):
    sweep_dir = root / name
    configs = [{"arch": arch, "lr": 0.001, "seed": seed} for arch in archs for seed in (1, 2, 3)]
    sweep_dir.mkdir(parents=True)
    (sweep_dir / "manifest.json").write_text(json.dumps({"runs": [{"index": i, "config": c}
                                                                  for i, c in enumerate(configs)]}))
    for index, config in enumerate(configs):
        run_dir = sweep_dir / str(index)
        run_dir.mkdir()
        fields = RESULTS.get((config["arch"], config["seed"]))
        if fields:
            (run_dir / "result.json").write_text(json.dumps({"index": index, "config": config, **fields}))
            # what tools.fpa aggregate records for the run's one seed
            why = "output b^75 for T's a^20 (T: b^40)" if 1.0 not in fields["fpa"].values() else None
            (run_dir / "fpa_agreement.json").write_text(json.dumps({"seeds": {"fpa.jsonl": {"why_none": why}}}))
        elif config["seed"] == 2:
            (run_dir / "error.json").write_text(json.dumps({"message": "train: failed", "log": "x"}))
    return sweep_dir


def test_groups_means_and_fractions(tmp_path, capsys):
    sweep_dir = make_sweep(tmp_path, "find")
    rows = report.main([str(sweep_dir)])
    lstm, transformer = rows
    assert (lstm["arch"], lstm["n"], lstm["planned"], lstm["failed"]) == ("lstm", 3, 3, 0)
    assert (transformer["n"], transformer["planned"], transformer["failed"]) == (1, 3, 1)
    assert lstm["valid_loss_mean"] == pytest.approx(2.0) and lstm["valid_loss_sd"] == pytest.approx(1.0)
    assert lstm["fpa_mul"] == pytest.approx(2 / 3) and lstm["fpa_add"] == pytest.approx(1 / 3)
    assert lstm["fpa_none"] == 0.0 and transformer["fpa_none"] == 1.0
    assert lstm["dl_add_mean"] == pytest.approx(12.0) and lstm["dl_add_sd"] == pytest.approx(2.0)
    assert transformer["valid_loss_mean"] is None and transformer["dl_mul_sd"] is None  # one run: no SD

    table = (sweep_dir / "report.md").read_text()
    assert ("| arch | n | valid loss | wall time (s) | FPA add | FPA mul | FPA none | DL add (bits) | DL mul (bits) |"
            in table)
    assert ("| lstm | 3/3 | 2.000 ± 1.000 | 20.0 ± 10.0 | 0.33 (1/3) | 0.67 (2/3) | 0.00 (0/3) | 12.00 ± 2.00 | "
            "5.00 ± 0.00 |" in table)
    assert ("| transformer | 1/3 (1 failed) | – | 7.0 | 0.00 (0/1) | 0.00 (0/1) | 1.00 (1/1) | 20.00 | 30.00 |"
            in table)
    assert ("\n- arch=lstm, seed 1: mul 5.00, add 10.00\n- arch=lstm, seed 2: mul 5.00, add 12.00\n"
            "- arch=lstm, seed 3: mul 5.00, add 14.00\n- arch=transformer, seed 1: add 20.00, mul 30.00\n" in table)
    assert table.endswith("\n- arch=lstm, seed 1 -> mul\n- arch=lstm, seed 2 -> mul\n- arch=lstm, seed 3 -> add\n"
                          "- arch=transformer, seed 1 -> none: output b^75 for T's a^20 (T: b^40)\n")
    assert "4 of 6 runs finished" in table
    assert capsys.readouterr().out.startswith(table[table.index("| arch"):])  # printed too

    with open(sweep_dir / "report.csv") as f:
        by_arch = {row["arch"]: row for row in csv.DictReader(f)}
    assert float(by_arch["lstm"]["wall_time_s_sd"]) == pytest.approx(10.0)
    assert by_arch["transformer"]["valid_loss_mean"] == "" and by_arch["transformer"]["failed"] == "1"
    for name in ("fpa.png", "description_length.png"):
        assert (sweep_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_several_sweeps_and_bad_input(tmp_path):
    first, second = make_sweep(tmp_path, "a", archs=("lstm",)), make_sweep(tmp_path, "b", archs=("lstm",))
    rows = report.main([str(first), str(second), "--out", str(tmp_path / "both")])
    assert [(r["sweep"], r["n"]) for r in rows] == [("a", 3), ("b", 3)]  # the same learner in two sweeps
    assert (tmp_path / "both" / "report.md").exists()
    # one learner per sweep (FIND's grids): the sweep's name tells the learner, no column per differing flag
    third = make_sweep(tmp_path, "c", archs=("transformer",))
    rows = report.report([str(first), str(third)], str(tmp_path / "ac"))
    assert [r["sweep"] for r in rows] == ["a", "c"] and "arch" not in rows[0]
    rows = report.report([str(make_sweep(tmp_path, "find-x-lstm", archs=("lstm",))),
                          str(make_sweep(tmp_path, "find-x-cnn", archs=("lstm",)))], str(tmp_path / "x"))
    assert [r["label"] for r in rows] == ["lstm", "cnn"]  # what the names add to their shared prefix
    assert (tmp_path / "ac" / "report.md").read_text().count("| sweep | n |") == 1
    # no run of the sweep has a valid loss (validation disabled): no column of "–"
    report.report([str(third)], str(tmp_path / "c-only"))
    assert "| n | wall time (s) | FPA add |" in (tmp_path / "c-only" / "report.md").read_text()
    # a flag that varies within a sweep keeps its column
    rows = report.report([str(first), str(make_sweep(tmp_path, "d"))], str(tmp_path / "ad"))
    assert [(r["sweep"], r["arch"]) for r in rows] == [("a", "lstm"), ("d", "lstm"), ("d", "transformer")]
    with pytest.raises(UsageError, match="--out is needed"):
        report.main([str(first), str(second)])
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(["python", "tools/report.py", str(empty)])
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"python tools/report.py: error: {empty} holds no manifest.json; give a directory made by tools/sweep.py"]
    for manifest, what in (({"grid": "g.json"}, "no list 'runs'"), ([], "no list 'runs'"),
                           ({"runs": [{"index": 0}]}, "runs[0] is not")):
        (empty / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(UsageError, match=f"^{re.escape(str(empty / 'manifest.json'))}: {re.escape(what)}"):
            report.main([str(empty)])
    assert os.listdir(empty) == ["manifest.json"]


def test_description_length_also_per_block(tmp_path):
    """hierar-or-linear transmits its hold-out 4 at a time: FIND's Table 1d divides by the block size, which the
    report reads from the mdl.json that tools/sweep.py keeps for each candidate."""
    sweep_dir = make_sweep(tmp_path, "hierar", archs=("lstm",))
    for index in (0, 1):  # seeds 1 and 2; seed 3 has no mdl.json, so its block size is unknown
        for rule in ("add", "mul"):
            (sweep_dir / str(index) / "mdl" / rule).mkdir(parents=True)
            (sweep_dir / str(index) / "mdl" / rule / "mdl.json").write_text(json.dumps({"block_size": 4}))
    (row,) = report.main([str(sweep_dir)])
    assert row["dl_add_mean"] == pytest.approx(12.0)  # raw: every run
    assert row["dl_add_per_block_mean"] == pytest.approx((10.0 + 12.0) / 2 / 4)
    assert row["dl_add_per_block_sd"] == pytest.approx(2 ** 0.5 / 4)
    table = (sweep_dir / "report.md").read_text()
    assert "| DL add (bits) | DL mul (bits) | DL add / 4 (bits) | DL mul / 4 (bits) |" in table
    assert "| 12.00 ± 2.00 | 5.00 ± 0.00 | 2.75 ± 0.35 | 1.25 ± 0.00 |" in table
    with open(sweep_dir / "report.csv") as f:
        assert float(next(csv.DictReader(f))["dl_mul_per_block_mean"]) == pytest.approx(1.25)
    # blocks of one example (every other task): no second column
    plain = make_sweep(tmp_path, "plain", archs=("lstm",))
    (plain / "0" / "mdl" / "add").mkdir(parents=True)
    (plain / "0" / "mdl" / "add" / "mdl.json").write_text(json.dumps({"block_size": 1}))
    report.main([str(plain)])
    assert "/ 4" not in (plain / "report.md").read_text() and "per block" not in (plain / "report.md").read_text()
