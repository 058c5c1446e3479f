"""The demo behind ``make demo``: one real transduction experiment, end to end, on the CPU in minutes.

Generates a reversal data set (in-distribution lengths 6-15, out-of-distribution 1-5 and 16-30, fewer strings per
length than the paper), trains an LSTM seq2seq with additive attention through stock fairseq-train, evaluates it
greedily per input length, prints the table and writes the plot. Re-running reuses the data and the finished run.
"""
import argparse
import os
import time

from seq_cli import OneLineArgumentParser, add_threads_option, choose_threads, command_name, console, threads_phrase
from tools import transduction_run
from preprocess import transductions

PROG = command_name("python -m tools.transduction_demo")
DATA_SIZES = ["--train-size", "300", "--dev-size", "50", "--test-size", "200", "--ood-size", "200"]


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="reversal", choices=sorted(transductions.TASKS))
    parser.add_argument("--out", default="runs/demo", help="where the data and the run go")
    parser.add_argument("--grid", default="hyperparams/transductions/demo.json")
    add_threads_option(parser, "1, the fastest for this training here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    threads, why = choose_threads(args.threads)
    print(f"{PROG}: {threads_phrase(threads, why)}", flush=True)
    start = time.time()
    data = os.path.join(args.out, "data", args.task)
    transductions.main(["--task", args.task, "--out", data, *DATA_SIZES])
    run_dir = os.path.join(args.out, args.task)
    transduction_run.run(data, args.grid, {}, run_dir, threads)
    print(f"\n{args.task}, LSTM + attention; in distribution = lengths 6-15 (the 'test' rows)")
    print(f"plot: {os.path.join(run_dir, 'accuracy.png')}   per-length metrics: {os.path.join(run_dir, 'eval.jsonl')}")
    print(f"training log: {os.path.join(run_dir, 'train.log')}   wall time: {time.time() - start:.0f} s")


def cli():
    """The seq-transduction-demo command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
