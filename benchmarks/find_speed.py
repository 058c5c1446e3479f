"""Wall time of FIND trainings on this machine: one FPA training (the grid's 3,000 updates on add-or-mul/20) per
learner, and one full prequential description length (every block).

    python benchmarks/find_speed.py [--learners lstm_attention,transformer] [--mdl lstm_attention] [--threads 2]

Prints one Markdown row per measurement, for docs/benchmarks.md. Data go to data/find (made if missing).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

from tools.grid import expand, load_grid, render  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEARNERS = ("lstm_attention", "lstm_noattention", "cnn", "transformer")


def fairseq_train(data_bin, config, save_dir, threads, extra=()):
    command = [os.path.join(os.path.dirname(sys.executable), "fairseq-train"), data_bin,
               "--user-dir", os.path.join(ROOT, "seq_plugins"), *render(config), "--save-dir", save_dir, *extra]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    start = time.time()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"fairseq-train failed:\n{result.stderr[-3000:]}")
    return time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", default=",".join(LEARNERS))
    parser.add_argument("--mdl", default="lstm_attention", help="learners whose full MDL is timed ('' for none)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    size_dir = os.path.join(ROOT, "data", "find", "add-or-mul", "20")
    subprocess.run([sys.executable, "-m", "preprocess.find", "--task", "add-or-mul", "--out",
                    os.path.join(ROOT, "data", "find")], cwd=ROOT, check=True, capture_output=True)
    print(f"| measurement | learner | threads | wall time (s) |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for learner in args.learners.split(","):
            config = expand(load_grid(os.path.join(ROOT, "hyperparams", "default", f"{learner}_small.json")))[0]
            seconds = fairseq_train(os.path.join(size_dir, "fpa", "data-bin"), config,
                                    os.path.join(tmp, learner), args.threads)
            print(f"| FPA training, add-or-mul/20, {config['max-update']} updates | {learner} | {args.threads} "
                  f"| {seconds:.0f} |", flush=True)
        for learner in filter(None, args.mdl.split(",")):
            config = expand(load_grid(os.path.join(ROOT, "hyperparams", "default", f"{learner}_small.json")))[0]
            config.update({"task": "prequential_translation", "criterion": "prequential_mdl"})
            seconds = fairseq_train(os.path.join(size_dir, "mul", "data-bin"), config,
                                    os.path.join(tmp, learner + "_mdl"), args.threads)
            print(f"| description length, add-or-mul/20 `mul`, all blocks | {learner} | {args.threads} "
                  f"| {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
