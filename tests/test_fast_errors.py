"""Argument errors come in a second: every command parses and checks its arguments before it imports torch or
fairseq (seconds), and says what is wrong in one line with exit status 2."""
import json
import os
import subprocess
import sys

import pytest

from seq_cli import BYTES_PER_RANGE_VALUE, UsageError, memory_bound, parse_int_ranges
from tests.conftest import ROOT
from tests.test_entry_points import console_scripts

HEAVY = ("torch", "fairseq", "matplotlib")
# Runs ``cli`` of a module (or a script's __main__) as its command would, then prints the exit status and which
# heavy modules were imported by then.
PROBE = """
import json, runpy, sys
target, sys.argv = sys.argv[1], sys.argv[2:]
try:
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        module, function = target.split(":")
        getattr(__import__(module, fromlist=[function]), function)()
except SystemExit as exit:
    print(json.dumps({"status": exit.code, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)
SCRIPTS = console_scripts()
# bad values, missing files and huge ranges, each found without loading torch or fairseq
BAD_VALUES = [
    ("seq-transduction-data", ["--task", "reversal", "--out", "x", "--id-lengths", "1-1000000000"],
     "seq-transduction-data: error: --id-lengths: '1-1000000000' names 1,000,000,000 values, above the bound of "),
    ("seq-transduction-data", ["--task", "reversal", "--out", "x", "--ood-lengths", "5-1"],
     "seq-transduction-data: error: --ood-lengths: inverted range '5-1'"),
    ("seq-find-data", ["--task", "add-or-mul", "--sizes", "0", "--out", "x"],
     "seq-find-data: error: --sizes: values must be at least 1, got '0'"),
    ("seq-evaluate", ["--data", "no/such/data", "--checkpoint", "c.pt", "--out-dir", "x"],
     "seq-evaluate: error: --data no/such/data holds no config.json and data-bin/; make it with "
     "preprocess.transductions"),
    ("seq-meta-eval", ["--checkpoint", "no/such.pt"], "seq-meta-eval: error: checkpoint no/such.pt: does not exist"),
    ("seq-fpa", ["dump", "--checkpoint", "no/such.pt", "--data", "tests", "--out", "o"],
     "seq-fpa: error: --data tests has no data-bin/"),
    ("seq-lookup25", ["--multi-seed", "0"], "seq-lookup25: error: --multi-seed must be at least 1, got 0"),
    ("seq-lookup25-pictures", ["no/such/run"], "seq-lookup25-pictures: error: no/such/run/result.json does not exist"),
    ("seq-transduction-run", ["--data", "d", "--grid", "no/such.json", "--out", "o"],
     "seq-transduction-run: error: grid no/such.json: No such file or directory"),
    ("seq-bouncing-balls-baselines", ["--frames", "many"], "seq-bouncing-balls-baselines: error: argument --frames: "
     "invalid int value: 'many'"),
    ("seq-bouncing-balls-baselines", ["--frames", "1"], "seq-bouncing-balls-baselines: error: --frames must be at "
     "least 2"),
    ("seq-scan-data", ["--out", "x", "--split", "nosuch"], "seq-scan-data: error: argument --split: invalid choice"),
    ("seq-scan-data", ["--out", "x", "--official-train", "no/such.txt", "--official-test", "no/such.txt"],
     "seq-scan-data: error: no/such.txt does not exist"),
]


def probe(target, argv):
    result = subprocess.run([sys.executable, "-c", PROBE, target, *argv], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONWARNINGS="ignore"), timeout=60)
    return json.loads(result.stdout.splitlines()[-1]), result.stderr.splitlines()


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_bad_flag(command):
    outcome, stderr = probe(SCRIPTS[command], [command, "--bogus-flag"])
    assert outcome == {"status": 2, "heavy": []}, stderr
    assert len(stderr) == 1 and stderr[0].startswith(f"{command}: error: "), stderr


@pytest.mark.parametrize("script", ["tools/sweep.py", "tools/report.py"])
def test_bad_flag_of_a_script(script):
    outcome, stderr = probe(script, [script, "--bogus-flag"])
    assert outcome == {"status": 2, "heavy": []}, stderr
    assert len(stderr) == 1 and stderr[0].startswith(f"python {script}: error: "), stderr


@pytest.mark.parametrize("command, argv, message", BAD_VALUES)
def test_bad_value(command, argv, message):
    outcome, stderr = probe(SCRIPTS[command], [command, *argv])
    assert outcome == {"status": 2, "heavy": []}, stderr
    assert len(stderr) == 1 and stderr[0].startswith(message), stderr


def test_huge_ranges_are_refused_before_they_are_built():
    most = memory_bound() // BYTES_PER_RANGE_VALUE
    assert parse_int_ranges(f"1-3,{most - 1}-{most}", "--x") == [1, 2, 3, most - 1, most]  # large values, few of them
    with pytest.raises(UsageError, match=f"^--sizes: '1-{most},{most + 1}-{most + 1}' names {most + 1:,} values, "
                                         f"above the bound of {most:,} "):
        parse_int_ranges(f"1-{most},{most + 1}-{most + 1}", "--sizes")
    with pytest.raises(UsageError, match="overlapping ranges"):  # adjacent after sorting
        parse_int_ranges("5-9,1-5", "--x")
