"""What fairseq-train adds to the bare model step, per FIND learner: its milliseconds per update against the bare
step's (forward, backward, Adam: benchmarks/update_speed.py), with the grid's own flags. The goal is at most 1.3x.

    python benchmarks/train_overhead.py [--learners transformer_small cnn_small] [--updates 300] [--optimizer fast_adam]

fairseq-train's per update is the difference of two trainings of N and 2N updates (its "done training in"), so its
start-up and data loading cancel out; the grid's training settings (clip-norm 25, sentence-avg, dropout, the
scheduler) are kept, in one epoch and without checkpoints (a sweep's run saves 3 times in 3,000 updates). Both are
measured --tries times (default 2), interleaved, and the fastest kept; the load average is printed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.ensemble_speed import LEARNERS, grid_flags, train  # noqa: E402

BARE = re.compile(r"([0-9.]+) ms/update")


def bare_step(flags, updates):
    keep = [f for f in flags if f not in ("--sentence-avg",)]  # update_speed sums the loss itself
    drop = {"--task", "--criterion", "--optimizer", "--lr", "--lr-scheduler", "--warmup-updates", "--warmup-init-lr",
            "--clip-norm", "--batch-size", "--num-workers"}
    model_args, i = [], 0
    while i < len(keep):
        if keep[i] in drop:
            i += 2
            continue
        model_args.append(keep[i])
        i += 1
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "update_speed.py"), "--threads", "1",
                             "--updates", str(updates), "--", *model_args], capture_output=True, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore"))
    found = BARE.search(result.stdout)
    if not found:
        sys.exit(f"update_speed failed:\n{(result.stdout + result.stderr)[-2000:]}")
    return float(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=LEARNERS)
    parser.add_argument("--updates", type=int, default=200, help="N: fairseq-train runs N and 2N updates")
    parser.add_argument("--tries", type=int, default=2, help="measurements of each, interleaved; the fastest kept")
    parser.add_argument("--optimizer", help="fairseq-train's optimizer (default: the grid's); the bare step keeps "
                                            "torch's Adam")
    args = parser.parse_args()
    from preprocess import find

    with tempfile.TemporaryDirectory() as tmp:
        find.main(["--task", "add-or-mul", "--sizes", "20", "--out", tmp])
        data = os.path.join(tmp, "add-or-mul", "20", "fpa", "data-bin")
        print(f"load average {os.getloadavg()[0]:.2f} at start")
        print(f"| learner | bare step (ms) | fairseq-train (ms / update) | ratio |\n|---|---|---|---|")
        for learner in args.learners:
            flags = grid_flags(learner, optimizer=args.optimizer)
            bare, per_update = [], []
            for _ in range(args.tries):
                bare.append(bare_step(flags, 50))
                short, _ = train(data, flags, args.updates, "cpu", 1)
                long, _ = train(data, flags, 2 * args.updates, "cpu", 1)
                per_update.append((long - short) / args.updates * 1000)
            print(f"| {learner} | {min(bare):.1f} | {min(per_update):.1f} | {min(per_update) / min(bare):.2f} |",
                  flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
