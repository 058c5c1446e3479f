"""The tour behind ``make demo``: which rule do an LSTM with attention and a Transformer pick from one example?

Generates FIND's add-or-mul task with L = 20 (T is the single example a^20 -> b^40; is the rule "add 20",
"multiply by 2" or "memorize"?), sweeps the `lstm_attention_small` and `transformer_small` grids (4 seeds each,
3,000 full-batch updates, stock fairseq-train) on local workers with FPA, and prints the report: for each learner
the fraction of seeds whose greedy outputs follow each rule on every probe and the fraction that follow none, one
line per seed (its rule, or why it follows none: e.g. its output for T's input), where the plot is and the wall time.

The sweeps are those of tools/reproduce_find.sh (results/find-fpa-add-or-mul-20-<learner>), so either reuses the
other's finished runs; re-running resumes.
"""
import argparse
import os
import subprocess
import sys
import time

from preprocess import find
from seq_cli import (OneLineArgumentParser, UsageError, add_threads_option, choose_threads, command_name, console,
                     plural, threads_phrase)
from tools import report

PROG = command_name("python -m tools.find_demo")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEARNERS = ("lstm_attention", "transformer")


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/find", help="where preprocess.find writes the task")
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--n-workers", type=int, default=2)
    add_threads_option(parser, "the cores divided among the workers")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.n_workers < 1:
        raise UsageError("--n-workers must be at least 1")
    threads, why = choose_threads(args.threads, args.n_workers)
    print(f"{PROG}: {plural(args.n_workers, 'worker')}, {threads_phrase(threads, why)}", flush=True)
    start = time.time()
    task_dir = os.path.join(args.data, "add-or-mul", "20")
    find.main(["--task", "add-or-mul", "--sizes", "20", "--out", args.data])  # refuses data of other options
    sweeps = []
    for learner in LEARNERS:
        name = f"find-fpa-add-or-mul-20-{learner}"
        command = [sys.executable, os.path.join(ROOT, "tools", "sweep.py"),
                   "--sweep", os.path.join(ROOT, "hyperparams", "default", f"{learner}_small.json"),
                   "--task", task_dir, "--results-dir", args.results_dir, "--name", name, "--fpa",
                   "--n-workers", str(args.n_workers), "--threads", str(threads)]
        print(f"\n== {learner}: 4 seeds, 3,000 updates each ==", flush=True)
        if subprocess.run(command).returncode != 0:
            raise UsageError(f"the {learner} sweep had failed runs (listed above); re-run to retry them")
        sweeps.append(os.path.join(args.results_dir, name))
    out = os.path.join(args.results_dir, "find-demo")
    print("\nadd-or-mul, L = 20: the fraction of seeds following each rule on every probe (FPA), or none\n")
    report.report(sweeps, out)
    minutes, seconds = divmod(round(time.time() - start), 60)
    print(f"\nplot: {os.path.join(out, 'fpa.png')}   wall time: {minutes} min {seconds} s")


def cli():
    """The seq-find-demo command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
