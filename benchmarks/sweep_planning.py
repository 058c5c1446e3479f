"""Seconds for tools/sweep.py to plan and validate a FIND grid of many seeds, before anything is submitted.

    python benchmarks/sweep_planning.py [--grid hyperparams/default/transformer_small.json] [--seeds 1 1-100 1-1600]

Runs ``seq-sweep --dry-run --fpa --mdl`` on add-or-mul/20 (generated into a temporary directory) for each seed
range: the grid is expanded, every run's training, FPA and description-length commands are built, and fairseq's
parser checks the commands (once per distinct configuration). Prints one JSON line per range: wall and user CPU
seconds of the whole process, importing fairseq included.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", default=os.path.join(ROOT, "hyperparams", "default", "transformer_small.json"))
    parser.add_argument("--seeds", nargs="+", default=["1", "1-100", "1-1600"])
    args = parser.parse_args()
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "preprocess.find", "--task", "add-or-mul", "--sizes", "20", "--out",
                        scratch], cwd=ROOT, env=env, check=True, capture_output=True)
        for seeds in args.seeds:
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime, time.perf_counter()
            result = subprocess.run([sys.executable, "tools/sweep.py", "--sweep", args.grid, "--task",
                                     os.path.join(scratch, "add-or-mul", "20"), "--fpa", "--mdl", "--seeds", seeds,
                                     "--results-dir", os.path.join(scratch, "results"), "--dry-run"],
                                    cwd=ROOT, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if result.returncode:
                sys.exit(result.stderr)
            runs = int(result.stdout.split(" runs of ", 1)[0])
            print(json.dumps({"seeds": seeds, "runs": runs, "wall_s": round(wall, 2), "user_cpu_s": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before, 2), "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
