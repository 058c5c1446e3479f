"""Speed of the 25-sequence look-up (fixed timing, seed 0, 800 sweeps): the whole ``python -m tools.lookup25``
process, its training loop alone, and the same training inside stock fairseq-train (one fairseq epoch of 800
sweeps, and one epoch per sweep).

    python benchmarks/lookup25_speed.py --repeats 3

The training loop is timed by the task itself (first sweep to last update, wall and CPU time of the process), so
the three ways are measured by the same clock. Prints one row per way with the median over the repeats, and the
load average of the machine before and after, since the machine is shared.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def timed(command, cwd=ROOT):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def loop_times(checkpoint):
    code = ("import sys, torch, seq_plugins; s = torch.load(sys.argv[1], weights_only=True)['task_state']; "
            "print(s['loop_seconds'], s['loop_cpu_seconds'])")
    out = subprocess.run([sys.executable, "-c", code, checkpoint], cwd=ROOT, capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = {"python -m tools.lookup25 --seed 0": [], "fairseq-train, --sweeps-per-epoch 800": [],
            "fairseq-train, --sweeps-per-epoch 1": []}
    print("load average before:", open("/proc/loadavg").read().split()[:3])
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            out = os.path.join(tmp, f"tool{repeat}")
            wall = timed([sys.executable, "-m", "tools.lookup25", "--seed", "0", "--out", out])
            with open(os.path.join(out, "result.json")) as f:
                run = json.load(f)["runs"][0]
            rows["python -m tools.lookup25 --seed 0"].append((wall, run["loop_seconds"], run["loop_cpu_seconds"]))
            for per_epoch in (800, 1):
                command = list(run["fairseq_train_command"])
                save_dir = os.path.join(tmp, f"stock{per_epoch}-{repeat}")
                command[command.index("--save-dir") + 1] = save_dir
                command[command.index("--sweeps-per-epoch") + 1] = str(per_epoch)
                wall = timed([os.path.join(BIN, command[0]), *command[1:]])
                rows[f"fairseq-train, --sweeps-per-epoch {per_epoch}"].append(
                    (wall, *loop_times(os.path.join(save_dir, "checkpoint_last.pt"))))
    print("load average after:", open("/proc/loadavg").read().split()[:3])
    print("| how | whole process, s | training loop, s | training loop, CPU s |\n|---|---|---|---|")
    for name, values in rows.items():
        medians = [statistics.median(v[i] for v in values) for i in range(3)]
        print(f"| {name} | {medians[0]:.1f} | {medians[1]:.2f} | {medians[2]:.2f} |")


if __name__ == "__main__":
    main()
