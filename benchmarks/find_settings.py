"""What FIND's effective training settings change in a short training: gradient clipping at 25 (fairseq 0.9's
default), the loss averaged per sentence (FIND's mdl.py forces --sentence-avg) and dictionaries padded to a
multiple of 8 (fairseq-preprocess's default, never-seen symbols that are output logits too).

    python benchmarks/find_settings.py [--learner transformer] [--task count-or-mem] [--size 40] [--updates 300] \
        [--at 100,200,300] [--seeds 1,2,3]

Trains the learner of hyperparams/default/<learner>_small.json on T (the task's fpa data set, made in a temporary
folder with and without padding) for --updates updates under each setting, one thread, and prints one Markdown row
per setting and seed: the training loss in bits per target token (end-of-sequence included) of the updates --at,
and how many of the first 75 updates had a gradient norm above 25, i.e. were clipped under FIND's settings.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run as a script from anywhere

from tools.grid import expand, load_grid, render  # noqa: E402

FIND_CLIP = 25
# setting -> (grid changes, padded dictionaries)
SETTINGS = {
    "FIND's (the grids now)": ({}, True),
    "no clipping": ({"clip-norm": 0}, True),
    "token average": ({"sentence-avg": False}, True),
    "unpadded dictionaries": ({}, False),
    "before: no clipping, token average, unpadded": ({"clip-norm": 0, "sentence-avg": False}, False),
}
UPDATE = re.compile(r"\| epoch \d+:\s+\d+ / \d+ (loss=.*)$")


def make_data(task, size, root):
    """{padded: fpa data-bin}: preprocess.find's data with its padding, and the same data unpadded."""
    from preprocess import find

    cfgs = find.configs_from_args(find.build_parser().parse_args(["--task", task, "--sizes", str(size)]))
    out = {}
    for padded in (True, False):
        cfg = dict(cfgs[0], padding_factor=find.PADDING_FACTOR if padded else 1)
        find.write_task(cfg, os.path.join(root, str(cfg["padding_factor"])))
        out[padded] = os.path.join(root, str(cfg["padding_factor"]), "fpa", "data-bin")
    return out


def per_update(log):
    """{update: (bits per target token, gradient norm)} from fairseq's simple log at --log-interval 1."""
    rows = {}
    for line in log.splitlines():
        match = UPDATE.search(line)
        if match:
            fields = dict(item.split("=", 1) for item in match.group(1).split(", "))
            token_bits = fields.get("nll_loss", fields["loss"])  # nll_loss is logged when the loss is per sentence
            rows[int(fields["num_updates"])] = (float(token_bits), float(fields["gnorm"]))
    return rows


def train(data_bin, config, updates, save_dir):
    command = [os.path.join(os.path.dirname(sys.executable), "fairseq-train"), data_bin,
               "--user-dir", os.path.join(ROOT, "seq_plugins"), *render(config), "--save-dir", save_dir,
               "--max-update", str(updates), "--no-save", "--log-format", "simple", "--log-interval", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"fairseq-train failed:\n{result.stderr[-3000:]}")
    return per_update(result.stdout + result.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learner", default="transformer")
    parser.add_argument("--task", default="count-or-mem")
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--at", default="100,200,300")
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    at = [int(u) for u in args.at.split(",")]
    grid = expand(load_grid(os.path.join(ROOT, "hyperparams", "default", f"{args.learner}_small.json")))[0]
    print(f"| setting | seed | {' | '.join(f'loss at {u}' for u in at)} | gnorm > 25, updates 1-75 |")
    print("|---|---|" + "---|" * (len(at) + 1))
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(args.task, args.size, tmp)
        for name, (changes, padded) in SETTINGS.items():
            for seed in args.seeds.split(","):
                config = {**grid, **changes, "seed": int(seed)}
                rows = train(data[padded], config, args.updates, os.path.join(tmp, "run"))
                clipped = sum(rows[u][1] > FIND_CLIP for u in range(1, 76) if u in rows)
                losses = " | ".join(f"{rows[u][0]:.3f}" for u in at)
                print(f"| {name} | {seed} | {losses} | {clipped}/75 |", flush=True)


if __name__ == "__main__":
    main()
