"""The tour behind ``make demo``: which rule does a Transformer pick from one example, over 16 seeds?

Generates FIND's add-or-mul task with L = 20 (T is the single example a^20 -> b^40; is the rule "add 20",
"multiply by 2" or "memorize"?), sweeps FIND's Transformer learner (hyperparams/default/transformer_small.json:
FIND's sizes, dropout, clip-norm 25, 3,000 full-batch updates with stock fairseq-train) over seeds 1-16 with FPA,
8 seeds per process (--arch seed_ensemble: each seed is exactly its single run), and prints the report: the fraction
of seeds whose greedy outputs follow each rule on every probe and the fraction that follow none, one line per seed
(its rule, or why it follows none: e.g. its output for T's input), where the plot is and the wall time.

Why only the Transformer by default: stacked seeds make its 16 trainings take about two minutes on 2 cores, while
FIND's CNN and LSTM learners gain nothing from stacking on a CPU and cost 1.5-4 minutes per seed each
(docs/benchmarks.md); ``--learners transformer cnn lstm_attention lstm_noattention`` adds them, at that cost.
Re-running resumes (results/find-demo-<learner>-seeds<seeds>).
"""
import argparse
import os
import subprocess
import sys
import time

from preprocess import find
from seq_cli import (OneLineArgumentParser, UsageError, add_threads_option, choose_threads, command_name, console,
                     parse_int_ranges, plural, threads_phrase)
from tools import report

PROG = command_name("python -m tools.find_demo")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEARNERS = ("transformer", "cnn", "lstm_attention", "lstm_noattention")


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/find", help="where preprocess.find writes the task")
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--learners", nargs="+", choices=LEARNERS, default=["transformer"],
                        help="FIND's learners to sweep (default: transformer; see above for the others' cost)")
    parser.add_argument("--seeds", default="1-16", help="seeds of every learner (default 1-16)")
    parser.add_argument("--seeds-per-process", type=int, default=8,
                        help="seeds trained together in one process (default 8: 16 seeds on 2 workers)")
    parser.add_argument("--n-workers", type=int, default=2)
    add_threads_option(parser, "the cores divided among the workers")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    for option in ("n_workers", "seeds_per_process"):
        if getattr(args, option) < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1")
    seeds = parse_int_ranges(args.seeds, "--seeds", minimum=0)
    threads, why = choose_threads(args.threads, args.n_workers)
    print(f"{PROG}: {plural(args.n_workers, 'worker')}, {threads_phrase(threads, why)}", flush=True)
    start = time.time()
    task_dir = os.path.join(args.data, "add-or-mul", "20")
    find.main(["--task", "add-or-mul", "--sizes", "20", "--out", args.data])  # refuses data of other options
    sweeps = []
    for learner in args.learners:
        name = f"find-demo-{learner}-seeds{args.seeds}"
        command = [sys.executable, os.path.join(ROOT, "tools", "sweep.py"),
                   "--sweep", os.path.join(ROOT, "hyperparams", "default", f"{learner}_small.json"),
                   "--task", task_dir, "--results-dir", args.results_dir, "--name", name, "--fpa",
                   "--n-workers", str(args.n_workers), "--threads", str(threads), "--seeds", args.seeds,
                   "--seeds-per-process", str(args.seeds_per_process)]
        print(f"\n== {learner}: {plural(len(seeds), 'seed')}, 3,000 updates each ==", flush=True)
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
