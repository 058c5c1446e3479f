"""Seed-updates per second of ``--arch seed_ensemble`` at K = 1, 4, 16, 64 stacked seeds, per FIND learner, against
one fairseq-train process per seed, all measured in this one run.

    python benchmarks/ensemble_speed.py [--learners transformer_small cnn_small] [--ks 1 4 16 64] [--device cpu]

Each learner's grid (hyperparams/default/<learner>.json: FIND's sizes, dropout, clip-norm 25) trains on FIND's
add-or-mul/20 T with stock fairseq-train. An ensemble's rate is K x updates / the training time fairseq reports
("done training in"); one process per seed is what a sweep pays today: a whole single run of the grid's max-update
(3,000) updates, start-up included, extrapolated from a shorter single run's measured start-up and per-update time.
The ratios are to K = 1 (the same process, one seed) and to one process per seed. On a GPU (--device cuda, the
default when one is present) K = 256 is added. ``--record`` writes the fastest K per architecture for this device
(1 where one process per seed is faster than every ensemble)
into hyperparams/seeds_per_process.json, where tools/sweep.py takes its default --seeds-per-process from.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DONE = re.compile(r"done training in ([0-9.]+) seconds")
LEARNERS = ("transformer_small", "cnn_small", "lstm_attention_small", "lstm_noattention_small")
FULL_RUN_UPDATES = 3000


def grid_flags(learner, **overrides):
    """The learner's grid as fairseq-train flags, without its seeds and run length; ``overrides`` (grid keys, such
    as ``optimizer="fast_adam"``) replace its values where not None."""
    from tools.grid import expand, load_grid, render

    config = expand(load_grid(os.path.join(ROOT, "hyperparams", "default", f"{learner}.json")))[0]
    for key in ("seed", "max-update", "passes-per-epoch", "save-interval", "no-epoch-checkpoints"):
        config.pop(key, None)
    config.update({key: value for key, value in overrides.items() if value is not None})
    return render(config)


def add_or_mul_data(out):
    """FIND's add-or-mul/20 FPA data-bin (T: a^20 -> b^40), generated under ``out``."""
    from preprocess import find

    find.main(["--task", "add-or-mul", "--sizes", "20", "--out", out])
    return os.path.join(out, "add-or-mul", "20", "fpa", "data-bin")


def train_command(data, flags, updates, device):
    """fairseq-train of ``updates`` updates in one epoch, no checkpoints, one log line."""
    return [sys.executable, "-m", "fairseq_cli.train", data, "--user-dir", os.path.join(ROOT, "seq_plugins"), *flags,
            "--max-update", str(updates), "--passes-per-epoch", str(updates), "--no-save", "--log-interval",
            str(updates)] + (["--cpu"] if device == "cpu" else [])


def train(data, flags, updates, device, threads):
    """(training seconds fairseq reports, whole process seconds) of one fairseq-train of ``updates`` updates."""
    command = train_command(data, flags, updates, device)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    began = time.time()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.time() - began
    found = DONE.search(result.stdout + result.stderr)
    if result.returncode != 0 or not found:
        sys.exit(f"fairseq-train failed:\n{(result.stdout + result.stderr)[-2000:]}")
    return float(found.group(1)), wall


def ensemble_flags(flags, ks):
    arch = flags.index("--arch")
    return flags[:arch] + ["--arch", "seed_ensemble", "--ensemble-arch", flags[arch + 1],
                           "--ensemble-seeds", f"1-{ks}", "--seed", "1"] + flags[arch + 2:]


def main():
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=LEARNERS)
    parser.add_argument("--ks", nargs="+", type=int, default=None, help="default: 1 4 16 64 (GPU: and 256)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0, help="about how long each measured training runs")
    parser.add_argument("--optimizer", help="every training's optimizer, one process per seed included (default: the "
                        "grid's, fairseq's adam); fast_adam measures seq_plugins' fused Adam")
    parser.add_argument("--record", action="store_true",
                        help="write the fastest K per architecture to hyperparams/seeds_per_process.json")
    args = parser.parse_args()
    ks = args.ks or ([1, 4, 16, 64] + ([256] if args.device == "cuda" else []))
    from tools.seed_packs import RECORDED

    fastest = {}  # arch -> (seed-updates/s, K) of its first learner measured
    with tempfile.TemporaryDirectory() as tmp:
        data = add_or_mul_data(tmp)
        print(f"device {args.device}, {args.threads} thread(s), optimizer {args.optimizer or 'adam (the grids)'}, "
              f"load average {os.getloadavg()[0]:.2f} at start")
        for learner in args.learners:
            flags = grid_flags(learner, optimizer=args.optimizer)
            probe, _ = train(data, flags, 20, args.device, args.threads)  # sizes the measured runs
            updates = max(20, int(args.seconds / max(probe / 20, 1e-3)))
            seconds, wall = train(data, flags, updates, args.device, args.threads)
            per_update, startup = seconds / updates, wall - seconds
            per_process = FULL_RUN_UPDATES / (startup + FULL_RUN_UPDATES * per_update)
            print(f"\n{learner}: one process per seed {per_process:.1f} seed-updates/s (start-up {startup:.1f} s, "
                  f"{1000 * per_update:.1f} ms per update, {FULL_RUN_UPDATES} updates)")
            print(f"  {'K':>4} {'updates':>8} {'seed-updates/s':>15} {'x K=1':>7} {'x per-process':>14}")
            base, best = None, (per_process, 1)  # K = 1 records: a plain run per seed beats every ensemble
            for k in ks:
                n = max(30, int(updates / k))
                seconds, _ = train(data, ensemble_flags(flags, k), n, args.device, args.threads)
                rate = k * n / seconds
                base = base or rate
                best = max(best, (rate, k))
                print(f"  {k:>4} {n:>8} {rate:>15.1f} {rate / base:>7.2f} {rate / per_process:>14.2f}", flush=True)
            fastest.setdefault(flags[flags.index("--arch") + 1], best)
        load = os.getloadavg()[0]
        print(f"\nload average {load:.2f} at the end")
    if args.record:
        try:
            with open(RECORDED) as f:
                recorded = json.load(f)
        except OSError:
            recorded = {}
        device = recorded.setdefault(args.device, {"seeds_per_process": {}, "measured": {}})
        for arch, (rate, k) in fastest.items():  # other architectures keep what earlier runs measured
            device["seeds_per_process"][arch] = k
            device["measured"][arch] = {"seed_updates_per_s": round(rate, 1), "load_average_at_end": round(load, 2),
                                        "threads": args.threads, "command": "python benchmarks/ensemble_speed.py " +
                                        " ".join(sys.argv[1:])}
        with open(RECORDED, "w") as f:
            json.dump(recorded, f, indent=1)
        print(f"recorded the fastest K per architecture in {RECORDED}")


if __name__ == "__main__":
    main()
