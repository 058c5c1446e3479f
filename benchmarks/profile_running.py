"""Where a running training's CPU time goes: a sampling profile (py-spy, native frames) of a process that is already
training, so a long run is profiled at its real state, and the profiler costs it nothing.

    pip install py-spy==0.4.3      # a profiler, not a dependency of the project
    python benchmarks/profile_running.py --pid PID [--seconds 60] [--rate 200]

Prints the share of samples in each kind of work (matrix products, element-wise kernels, the autograd engine's own
bookkeeping, Python) and the Python lines that hold most samples as innermost frame. Shares of one process at one
thread do not depend on the machine's load; times would.
"""
import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile

# a sample is counted in the first kind whose marker one of its native frames contains, innermost first
KINDS = (("matrix products (BLAS)", ("sgemm", "gemm_", "mkl_blas", "dnnl", "brgemm")),
         ("element-wise kernels", ("TensorIterator", "vectorized_loop", "cpu_kernel", "VectorizedLoop")),
         ("memory: copies, allocation, cat", ("copy_", "memcpy", "memmove", "malloc", "free", "cat_", "_cat")),
         ("autograd engine", ("autograd::Engine", "evaluate_function", "PyNode")),
         ("waiting (other threads)", ("Condition.wait", "pthread_cond", "futex")))


def kind_of(frames):
    for frame in reversed(frames):
        for kind, markers in KINDS:
            if any(marker in frame for marker in markers):
                return kind
    return "Python and dispatch (the rest)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--top", type=int, default=15, help="Python lines to list")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if py_spy is None:
        sys.exit("profile_running.py: py-spy not found: pip install py-spy==0.4.3")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "profile.txt")
        subprocess.run([py_spy, "record", "--pid", str(args.pid), "--duration", str(args.seconds), "--rate",
                        str(args.rate), "--native", "--format", "raw", "--output", raw], check=True,
                       stdout=subprocess.DEVNULL)
        stacks = []
        with open(raw) as f:
            for line in f:
                stack, count = line.rstrip("\n").rsplit(" ", 1)
                stacks.append((stack.split(";"), int(count)))
    total = sum(count for _, count in stacks)
    kinds, lines = collections.Counter(), collections.Counter()
    for frames, count in stacks:
        kinds[kind_of(frames)] += count
        python = [f for f in frames if ".py:" in f]
        if python:
            lines[python[-1]] += count
    print(f"{total} samples of pid {args.pid} over {args.seconds} s")
    for kind, count in kinds.most_common():
        print(f"{100 * count / total:5.1f} %  {kind}")
    print("innermost Python line:")
    for line, count in lines.most_common(args.top):
        print(f"{100 * count / total:5.1f} %  {line}")


if __name__ == "__main__":
    main()
