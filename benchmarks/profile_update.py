"""Where a fairseq-train update of a FIND learner goes: a sampling profile (py-spy) of one training on
add-or-mul/20 with the grid's flags, as milliseconds per update for each call made by fairseq's Trainer.train_step.

    pip install py-spy==0.4.3      # a profiler, not a dependency of the project
    python benchmarks/profile_update.py [--learner transformer_small] [--optimizer fast_adam] [--updates 2000]

A sampling profiler does not slow the profiled code down, so its proportions hold where cProfile's do not
(cProfile adds a fixed cost to every Python call, which inflates call-heavy code such as fairseq's Adam or torch's
seeding several times over). The milliseconds are samples / rate / updates: they scale with the machine's load,
which is printed; read them as proportions of the update.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.ensemble_speed import LEARNERS, add_or_mul_data, grid_flags, train_command  # noqa: E402

TRAIN_LOOP = "train (fairseq_cli/train.py:"
TRAIN_STEP = "Trainer.train_step (fairseq/trainer.py:"


def function_of(frame):
    return re.sub(r":\d+\)$", ")", frame)


def children(stacks, parent):
    """Samples in each function called directly by ``parent`` (``<self>``: in ``parent``'s own lines)."""
    found = collections.Counter()
    for frames, count in stacks:
        for i, frame in enumerate(frames):
            if frame.startswith(parent):
                found[function_of(frames[i + 1]) if i + 1 < len(frames) else "<self>"] += count
                break
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learner", default="transformer_small", choices=LEARNERS)
    parser.add_argument("--optimizer", help="default: the grid's")
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--top", type=int, default=15, help="how many of Trainer.train_step's calls to list")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if py_spy is None:
        sys.exit("profile_update.py: py-spy not found: pip install py-spy==0.4.3")
    with tempfile.TemporaryDirectory() as tmp:
        data = add_or_mul_data(tmp)
        raw = os.path.join(tmp, "profile.txt")
        command = [py_spy, "record", "--rate", str(args.rate), "--format", "raw", "--output", raw, "--",
                   *train_command(data, grid_flags(args.learner, optimizer=args.optimizer), args.updates, "cpu")]
        load = os.getloadavg()[0]
        result = subprocess.run(command, capture_output=True, text=True,
                                env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore"))
        if result.returncode != 0 or not os.path.exists(raw):
            sys.exit(f"profile_update.py: the profiled training failed:\n{(result.stdout + result.stderr)[-2000:]}")
        stacks = []
        with open(raw) as lines:
            for line in lines:
                stack, count = line.rstrip("\n").rsplit(" ", 1)
                stacks.append((stack.split(";"), int(count)))
    ms = 1000 / args.rate / args.updates  # per sample, per update
    loop = sum(count for frames, count in stacks if any(f.startswith(TRAIN_LOOP) for f in frames))
    step = children(stacks, TRAIN_STEP)
    optimizer = args.optimizer or "the grid's"
    print(f"{args.learner}, optimizer {optimizer}, {args.updates} updates, "
          f"load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at the end")
    print(f"\n| per update | ms |\n|---|---|\n| the training loop | {loop * ms:.2f} |\n"
          f"| `Trainer.train_step` | {sum(step.values()) * ms:.2f} |")
    for function, count in step.most_common(args.top):
        print(f"| `{function}` | {count * ms:.2f} |")
    seeding = children(stacks, "_manual_seed_impl (torch/random.py:")
    print("\ntorch.manual_seed's calls (fairseq's _set_seed runs it every update): "
          + ", ".join(f"{function} {count * ms:.2f} ms" for function, count in seeding.most_common(4)))


if __name__ == "__main__":
    main()
