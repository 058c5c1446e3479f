"""The claims ledger, built from stand-in result files: what it reads, its verdicts and its refusals."""
import json
import os

import pytest

from seq_cli import UsageError
from tests.conftest import ROOT, run_cli
from tools import ledger
from tools.claims import Claim, FindDL, FindFPA, Lookup, MetaCell, Unrun
from tools.result_files import KEYS, result_path, write_result


def meta_result(results, cell, seed, accuracy, episodes=10_000, flags=(), cpu_s=3600.0, stored_cell=None):
    record = dict(study="meta_seq2seq", cell=stored_cell or cell, seed=seed,
                  config={"episodes": episodes, "episode_type": "scan_prim_permutation", "flags": list(flags)},
                  metrics={"test_accuracy": accuracy}, curve={"x": "episode", "y": "loss", "points": [[100, 1.0]]},
                  commands={"train": ["fairseq-train"]}, commit="abc", cpu_s=cpu_s, wall_s=cpu_s, threads=1)
    path = result_path("meta_seq2seq", cell, seed, str(results))
    write_result(path, **record)
    return path


def report_file(results, folder, name, text):
    path = results / "find" / folder
    path.mkdir(parents=True)
    (path / name).write_text(text)


def find_reports(results):
    report_file(results, "comp-or-mem-5-fpa-seeds1-16", "report.csv",
                "sweep,n,fpa_n,fpa_mem_func,fpa_mem_prim,fpa_compo,fpa_none\n"
                "find-fpa-comp-or-mem-5-cnn-seeds1-16,16,16,0.125,0.0,0.0,0.875\n"
                "find-fpa-comp-or-mem-5-lstm_noattention-seeds1-16,16,16,0.9375,0.0,0.0,0.0625\n")
    report_file(results, "hierar-or-linear-4-mdl-seeds1-8", "report.md",
                "# find-mdl-hierar-or-linear-4-cnn-seeds1-8, find-mdl-hierar-or-linear-4-lstm_attention-seeds1-8\n\n"
                "- cnn-seeds1-8, seed 1: hierar 1.00, linear 9.00\n"
                "- lstm_attention-seeds1-8, seed 1: linear 2.00, hierar 3.50\n"
                "- lstm_attention-seeds1-8, seed 2: hierar 0.50, linear 4.00\n"
                "- lstm_attention-seeds1-8, seed 3: hierar 1.50, linear 7.00\n")
    (results / "find" / "hierar-or-linear-4-mdl-seeds1-8" / "report.csv").write_text(
        "sweep,n,wall_time_s_mean\nfind-mdl-hierar-or-linear-4-lstm_attention-seeds1-8,3,1800\n")
    report_file(results, "hierar-or-linear-4-fpa-seeds1-16", "report.md",
                "# find-fpa-hierar-or-linear-4-cnn-seeds1-16, find-fpa-hierar-or-linear-4-lstm_attention-seeds1-16\n\n"
                "- cnn-seeds1-16, seed 1 -> linear\n"
                "- lstm_attention-seeds1-16, seed 1 -> none: probe x -> y, no rule's output\n"
                "- lstm_attention-seeds1-16, seed 2 -> hierar\n")

CLAIMS = [
    Claim("Lake", "add jump", "99.95 % (SD 0.08)", MetaCell("add_jump_permutation")),
    Claim("Lake", "no support loss", "5.43 % (SD 7.6)", MetaCell("add_jump_permutation_no_support_loss")),
    Claim("Lake", "around right", "99.96 %", MetaCell("around_right")),
    Claim("FIND", "CNN composes", "compo", FindFPA("comp-or-mem-5", "cnn", "compo", ("mem_func", "mem_prim")),
          note="where it starts"),
    Claim("FIND", "LSTM memorizes", "mem_func", FindFPA("comp-or-mem-5", "lstm_noattention", "mem_func",
                                                       ("compo",))),
    Claim("FIND", "LSTM+att hierar by DL", "hierar", FindDL("hierar-or-linear-4", "lstm_attention", "hierar",
                                                            ("linear",), seeds="1-8")),
    Claim("FIND", "LSTM hierar by DL", "hierar", FindDL("hierar-or-linear-4", "lstm_noattention", "hierar",
                                                        ("linear",), seeds="1-8", cost="5 CPU-h")),
    Claim("RHW", "look-up", "4/5", Lookup("fixed", 4)),
    Claim("Rig", "MNIST", "59.6 %", Unrun("some command", "10 CPU-h", partial="one seed")),
]


def test_the_ledger_reads_result_files_and_gives_verdicts(tmp_path):
    for seed, accuracy in enumerate([99.9, 100.0, 99.8], start=1):
        meta_result(tmp_path, "add_jump_permutation", seed, accuracy)
    meta_result(tmp_path, "add_jump_permutation_no_support_loss", 1, 40.0, flags=["--no-support-loss"])
    meta_result(tmp_path, "add_jump_permutation_no_support_loss", 2, 60.0, flags=["--no-support-loss"])
    find_reports(tmp_path)
    for seed, right in enumerate([4, 5, 3]):
        write_result(result_path("lookup25", "fixed", seed, str(tmp_path)), study="lookup25", cell="fixed", seed=seed,
                     config={}, metrics={"heldout_correct": right}, curve={}, commands={}, commit="abc", cpu_s=1,
                     wall_s=1, threads=1)
    page = ledger.build(str(tmp_path), CLAIMS)
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in page.splitlines() if line.startswith("| ")}
    assert rows["add jump"][3:5] == ["99.90 % ± 0.10 (n = 3)", "within the paper's spread (3 of 5 seeds)"]
    assert rows["no support loss"][3:5] == ["50.00 % ± 14.14 (n = 2)", "differs (2 of 3 seeds)"]
    assert rows["around right"][4] == "not yet run"
    assert rows["CNN composes"][3:5] == ["compo 0/16, mem_func 2/16, mem_prim 0/16, none 14/16", "differs"]
    assert rows["LSTM memorizes"][4] == "agrees"
    assert rows["LSTM+att hierar by DL"][3:5] == ["cheapest: hierar 2/3, linear 1/3", "agrees (3 of 8 seeds)"]
    # each seed's cheapest rule beside what FPA says the same seed follows; the CNN's lines are not read
    assert "- LSTM+att hierar by DL: per seed 1: linear (FPA: none), 2: hierar (FPA: hierar), 3: hierar\n" in page
    assert rows["LSTM hierar by DL"][4] == "not yet run"
    assert rows["look-up"][3:5] == ["4.0/5 held out, mean of 3 seeds (4, 5, 3)", "differs"]  # seed 2: 3 of 5
    assert rows["MNIST"][3:5] == ["one seed", "not yet run"]
    assert "- CNN composes: where it starts" in page and "- add jump: per seed 1: 99.90, 2: 100.00, 3: 99.80" in page
    # what is left: the unrun seeds at the cell's measured CPU time, and the stated costs
    assert "add jump: 2 seeds left, about 2.0 CPU-h (measured 60 CPU-min per run)" in page
    assert "around right: 5 seeds left; no run of this episode type has finished yet" in page
    assert "LSTM+att hierar by DL: 5 seeds left, about 2.5 CPU-h (measured 30 CPU-min per seed" in page
    assert "LSTM hierar by DL: 5 CPU-h" in page and "MNIST: 10 CPU-h" in page
    assert ledger.build(str(tmp_path), CLAIMS) == page  # the same files, the same bytes


@pytest.mark.parametrize("damage, message", [
    ("truncate", "add_jump_permutation/seed1.json: not a whole JSON file"),
    ("unknown key", "add_jump_permutation/seed1.json: unknown key 'accuracy'"),
    ("other cell", "add_jump_permutation/seed1.json: holds meta_seq2seq/around_right seed 1, not "
                   "meta_seq2seq/add_jump_permutation seed 1"),
    ("other budget", "add_jump_permutation/seed1.json: trained 100 episodes with flags [], not the cell's 10000"),
])
def test_a_bad_result_file_stops_the_build_with_one_line_and_keeps_the_page(tmp_path, damage, message):
    path = meta_result(tmp_path, "add_jump_permutation", 1, 99.0, **({"stored_cell": "around_right"} if damage ==
                                                                      "other cell" else {}),
                       **({"episodes": 100} if damage == "other budget" else {}))
    if damage == "truncate":
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text[:len(text) // 2])
    elif damage == "unknown key":
        with open(path) as f:
            record = json.load(f)
        with open(path, "w") as f:
            json.dump({**record, "accuracy": 99}, f)
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ledger.build(str(tmp_path), CLAIMS[:1])
    page = tmp_path / "README.md"
    page.write_text("the old page\n")
    result = run_cli(["python", "-m", "tools.ledger", "--results", str(tmp_path)])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "seed1.json" in result.stderr
    assert page.read_text() == "the old page\n"


def test_the_committed_ledger_is_what_its_command_builds():
    result = run_cli(["python", "-m", "tools.ledger", "--check"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(KEYS) >= {"study", "cell", "seed", "metrics", "curve", "commands", "commit", "cpu_s", "wall_s"}
    assert os.path.exists(os.path.join(ROOT, "docs", "results", "README.md"))
