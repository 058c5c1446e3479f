"""Scheduling overhead of tools/sweep.py: seconds from a run's submission to its fairseq-train start, and runs per
hour, on local workers and on a real single-node SLURM cluster started here (tests/slurm_cluster.py), n_workers runs
at once on both (SLURM: the array's parallelism).

    python benchmarks/sweep_overhead.py [--runs 8] [--n-workers 2] [--clusters local slurm]
    python benchmarks/sweep_overhead.py --grid hyperparams/default/transformer_small.json --task data/find/add-or-mul/20

By default a grid of tiny LSTMs (20 updates each: the overhead, not the training, dominates) on FIND's
add-or-mul with L = 3. Each sweep's own summary line gives the figures: the median of submission -> first step
over its runs (the times are written by the runs themselves into result.json), and finished runs per hour of wall
time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TINY_GRID = {"task": "transduction", "arch": "lstm", "encoder-embed-dim": 8, "decoder-embed-dim": 8,
             "decoder-out-embed-dim": 8, "encoder-hidden-size": 32, "decoder-hidden-size": 32, "optimizer": "adam",
             "lr": 0.01, "max-update": 20, "batch-size": 5000, "num-workers": 0, "save-interval": 100000,
             "disable-validation": True}


def run_sweep(grid, task, results, cluster, n_workers, env):
    command = [sys.executable, os.path.join(ROOT, "tools", "sweep.py"), "--sweep", grid, "--task", task,
               "--results-dir", results, "--name", cluster, "--cluster", cluster, "--n-workers", str(n_workers),
               "--cpus-per-job", "1", "--slurm-array-parallelism", str(n_workers)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the {cluster} sweep failed:\n{result.stdout}{result.stderr}")
    timings = []
    for index in sorted(os.listdir(os.path.join(results, cluster)), key=lambda n: (len(n), n)):
        path = os.path.join(results, cluster, index, "result.json")
        if os.path.isfile(path):
            with open(path) as f:
                timings.append(json.load(f)["timing"])
    # SLURM gets the whole array at once and queues what does not fit, so only the first wave (n_workers runs)
    # measures scheduling; the local sweep submits a run only when a worker is free, so every run does.
    first_wave = sorted(timings, key=lambda t: t["submitted"])[:n_workers] if cluster == "slurm" else timings
    starts = [t["first_step"] - t["submitted"] for t in first_wave]
    wall = max(t["finished"] for t in timings) - min(t["submitted"] for t in timings)
    print(f"{cluster:6s} {len(timings)} runs, {n_workers} at once: submission -> fairseq start median "
          f"{statistics.median(starts):.2f} s over {len(starts)} runs (min {min(starts):.2f}, max "
          f"{max(starts):.2f}); {len(timings) / wall * 3600:.0f} runs/hour")
    print("       " + result.stdout.strip().splitlines()[-1].strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8, help="seeds of the tiny grid")
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--clusters", nargs="+", default=["local", "slurm"], choices=["local", "slurm"])
    parser.add_argument("--grid", help="a grid of your own instead of the tiny one")
    parser.add_argument("--task", help="with --grid: its preprocess.find data set")
    args = parser.parse_args()
    if bool(args.grid) != bool(args.task):
        parser.error("--grid and --task go together")
    from preprocess import find

    with tempfile.TemporaryDirectory() as tmp:
        grid, task = args.grid, args.task
        if grid is None:
            grid = os.path.join(tmp, "tiny.json")
            with open(grid, "w") as f:
                json.dump({**TINY_GRID, "seed": list(range(1, args.runs + 1))}, f)
            find.main(["--task", "add-or-mul", "--sizes", "3", "--out", os.path.join(tmp, "find")])
            task = os.path.join(tmp, "find", "add-or-mul", "3")
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        for cluster_kind in args.clusters:
            if cluster_kind == "local":
                run_sweep(grid, task, os.path.join(tmp, "results"), "local", args.n_workers, env)
                continue
            from tests.slurm_cluster import Cluster, ensure_installed

            reason = ensure_installed()
            if reason:
                print(f"slurm  skipped: {reason}")
                continue
            cluster = Cluster(os.path.join(tmp, "slurm"))
            cluster.start()
            try:
                run_sweep(grid, task, os.path.join(tmp, "results"), "slurm", args.n_workers,
                          dict(cluster.env, PYTHONWARNINGS="ignore"))
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
