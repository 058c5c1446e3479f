"""Meta seq2seq (Lake 2019): facebookresearch/meta_seq2seq's train.py next to our fairseq-train run.

Each seed trains both sides for --episodes episodes of --episode-type, one thread each, --workers runs at a time:
the original through tools.originals.run_seeded (random, numpy and torch seeded; PYTHONHASHSEED set to the seed,
since its query sets are Python sets), ours through tools/reproduce_meta_seq2seq.sh (then tools.meta_seq2seq_eval
on the validation or test episodes). Both draw their episodes with their own generators, so a seed means the same
training recipe, not the same episodes. Printed per seed: the training loss (nats) every 1,000 episodes, the
plateau exit (the first logged episode whose 100-episode mean loss is below --plateau-nats), and the final
generalization and retrieval accuracy. A seed whose both sides finished is not rerun.

For the SCAN episode types the final accuracy is the paper's: the split's whole test set, which the original's
train.py never scores (it validates on 5 episodes of 20 commands); its trained net.tar is decoded on the test episode
our generator builds by its own code (tools/originals/meta_seq2seq_test.py). Our side is then the ledger's run of
the type's cell (tools/meta_seq2seq_run.py), and at the paper's 10,000 episodes both sides write result files
(docs/results/meta_seq2seq/runs/<cell>/ and docs/results/meta_seq2seq_original/runs/<cell>/).
"""
import json
import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from seq_cli import UsageError, parse_int_ranges
from tools.atomic_files import read_json, write_json
from tools.originals import ROOT, THREAD_VARIABLES, seeded_command
from tools.result_files import RESULTS, commit, relative_command, result_path, timed, write_result

REPOSITORY = "facebookresearch/meta_seq2seq"
COMMIT = "59c3b4aafebf387bcd4e45626d8d91b66e6e5dff"
FILES = {
    "train.py": "50993a1228e0456fc2ea685aa881496cb8a232fa80019a9f5cff61f9b3f2e510",
    "model.py": "9740f23f663db618e9ad57f42600a11ef73c7579f29f59459ce6220768b07f84",
    "generate_episode.py": "95d9ec6ff829c8534d2c12a9cc69620605a352d224950879d6b189ad5e1f741f",
    "masked_cross_entropy.py": "ff0997f802f48dddd99f07f9c6dbe3c32bc00b333a11511ecff9a82a76f7968d",
    "data/tasks_train_all.txt": "d824c7d9e9149ba497e25f701981dac79954e04bf670d22e5c209f076ac6c89f",
}
RUNTIME_PATCHES = []
EPISODE_TYPES = {"me": "ME", "scan_prim_permutation": "scan_prim_permutation",
                 "scan_prim_augmentation": "scan_prim_augmentation", "scan_around_right": "scan_around_right",
                 "scan_length": "scan_length"}
# the cell of Lake's tables each episode type trains, with no lesion
BASE_CELLS = {"scan_prim_permutation": "add_jump_permutation", "scan_prim_augmentation": "add_jump_augmentation",
              "scan_around_right": "around_right", "scan_length": "length"}
EPISODES = 10_000  # the paper's budget: only such runs get result files
ORIGINAL_LINE = re.compile(r"\((\d+) \d+% finished\) TrainLoss: ([\d.]+), ValAccRetrieval: ([\d.]+), "
                           r"ValAccGeneralize: ([\d.]+)")
OURS_LINE = re.compile(r"\| train_inner \| .* loss=([\d.]+),.* num_updates=(\d+)")


def add_arguments(parser):
    parser.add_argument("--episode-type", default="me", choices=sorted(EPISODE_TYPES))
    parser.add_argument("--seeds", default="1-5", help="seeds, e.g. 1-5 (default)")
    parser.add_argument("--episodes", type=int, default=10000, help="training episodes (default: the paper's 10,000)")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time, one thread each (default 2)")
    parser.add_argument("--sides", default="original,ours", help="which sides to run (default: original,ours)")
    parser.add_argument("--plateau-nats", type=float, default=1.0,
                        help="loss (nats) below which a run has left the chance plateau (default 1.0)")


def original_command(checkout, episode_type, seed, episodes, run_dir):
    """Its command and environment; the hash seed is the seed, since its query sets are Python sets."""
    command, env = seeded_command(checkout, seed, "train.py", [
        "--episode_type", EPISODE_TYPES[episode_type], "--num_episodes", str(episodes),
        "--lr_decay_schedule", str(episodes // 2), "--dir_model", run_dir, "--fn_out_model", "net.tar"], hash_seed=seed)
    return command, {**env, "CUDA_VISIBLE_DEVICES": ""}


def read_original(log):
    """{episode: (loss in nats, retrieval %, generalization %)} and the final (generalization, retrieval)."""
    curve, final = {}, None
    with open(log) as f:
        text = f.read()
    for match in ORIGINAL_LINE.finditer(text):
        curve[int(match[1])] = tuple(float(match[i]) for i in (2, 3, 4))
    if "Training complete" in text:
        episode = max(curve)
        final = {"generalization": curve[episode][2], "retrieval": curve[episode][1]}
    return {"loss_nats": {e: v[0] for e, v in curve.items()}, "final": final}


def read_ours(run_dir):
    """The training loss every logged interval, converted from fairseq's bits to nats, and test.json's accuracy."""
    curve = {}
    with open(os.path.join(run_dir, "train.log")) as f:
        for line in f:
            match = OURS_LINE.search(line)
            if match:
                curve[int(match[2])] = float(match[1]) * math.log(2)
    final = None
    result = os.path.join(run_dir, "test.json")
    if os.path.exists(result):
        with open(result) as f:
            summary = json.load(f)
        accuracy = {k: 100 * summary[k]["correct"] / summary[k]["n"] if summary[k]["n"] else None
                    for k in ("not_in_support", "in_support")}
        final = {"generalization": accuracy["not_in_support"], "retrieval": accuracy["in_support"]}
    return {"loss_nats": curve, "final": final}


def plateau_exit(loss_nats, threshold):
    return next((e for e in sorted(loss_nats) if e > 1 and loss_nats[e] < threshold), None)


def run_side(side, checkout, args, seed, out):
    run_dir = os.path.join(out, side, f"seed{seed}")
    os.makedirs(run_dir, exist_ok=True)
    if side == "original":
        log = os.path.join(run_dir, "train.log")
        if not (os.path.exists(log) and read_original(log)["final"]):
            train_original(checkout, args, seed, run_dir, log)
        if args.episode_type != "me" and not os.path.exists(os.path.join(run_dir, "test.json")):
            test_original(checkout, args, seed, run_dir)
        if args.episodes == EPISODES and args.episode_type != "me":
            write_original_result(checkout, args, seed, run_dir)
    elif args.episode_type == "me":
        if os.path.exists(os.path.join(run_dir, "test.json")):
            return
        env = {**os.environ, "OUT_DIR": os.path.abspath(run_dir)}
        script = os.path.join(ROOT, "tools", "reproduce_meta_seq2seq.sh")
        result = subprocess.run(["bash", script, args.episode_type, str(seed), str(args.episodes)], cwd=ROOT,
                                env=env, check=False)
        if result.returncode != 0:
            raise UsageError(f"our seed {seed} failed; see {os.path.join(run_dir, 'train.log')}")
    else:  # a cell of Lake's tables: the run and result file are the ledger's own (tools/meta_seq2seq_run.py)
        from tools.meta_seq2seq_run import run_cell

        results = RESULTS if args.episodes == EPISODES else os.path.join(out, "results")
        run_cell(BASE_CELLS[args.episode_type], seed, args.episodes, results=results, run_dir=run_dir)


def train_original(checkout, args, seed, run_dir, log):
    # the original evaluates instead of training when its model file exists: a stopped run starts over
    if os.path.exists(os.path.join(run_dir, "net.tar")):
        os.remove(os.path.join(run_dir, "net.tar"))
    data = os.path.join(run_dir, "data")  # train.py reads data/ relative to its working directory
    if not os.path.islink(data):
        os.symlink(os.path.join(checkout, "data"), data)
    command, env = original_command(checkout, args.episode_type, seed, args.episodes, os.path.abspath(run_dir))
    status, cpu, wall = timed(command, log, env, cwd=run_dir, append=False)
    write_json(os.path.join(run_dir, "timing.json"), {"cpu_s": cpu, "wall_s": wall, "command": command})
    if not read_original(log)["final"]:
        raise UsageError(f"the original's seed {seed} did not finish; see {log}")


def test_original(checkout, args, seed, run_dir):
    """The paper's test set decoded by the original's code (tools/originals/meta_seq2seq_test.py)."""
    command = [sys.executable, "-m", "tools.originals.meta_seq2seq_test", "--checkout", checkout, "--model",
               os.path.join(run_dir, "net.tar"), "--episode-type", args.episode_type, "--seed", str(seed),
               "--out", os.path.join(run_dir, "test.json")]
    env = {**os.environ, **{name: "1" for name in THREAD_VARIABLES}}
    status, _cpu, _wall = timed(command, os.path.join(run_dir, "test.txt"), env, cwd=ROOT, append=False)
    if status:
        raise UsageError(f"decoding the original's seed {seed} on the test set failed; see "
                         f"{os.path.join(run_dir, 'test.txt')}")


def write_original_result(checkout, args, seed, run_dir):
    timing = read_json(os.path.join(run_dir, "timing.json")) or {"cpu_s": 0.0, "wall_s": 0.0, "command": []}
    test = read_json(os.path.join(run_dir, "test.json"))
    curve = read_original(os.path.join(run_dir, "train.log"))["loss_nats"]
    cell = BASE_CELLS[args.episode_type]
    write_result(result_path("meta_seq2seq_original", cell, seed), study="meta_seq2seq_original", cell=cell,
                 seed=seed, config={"episodes": args.episodes, "episode_type": args.episode_type,
                                    "original": f"{REPOSITORY}@{COMMIT}"},
                 metrics={"test_accuracy": 100 * test["not_in_support"]["accuracy"],
                          "test_correct": test["not_in_support"]["correct"], "test_n": test["not_in_support"]["n"]},
                 curve={"x": "episode", "y": "training loss (nats), mean of the 100 episodes before",
                        "points": [[e, curve[e]] for e in sorted(curve)]},
                 commands={"train": relative_command(timing["command"]), "test": ["python", "-m",
                                                                                  "tools.originals.meta_seq2seq_test"]},
                 commit=commit(), cpu_s=round(timing["cpu_s"], 1), wall_s=round(timing["wall_s"], 1), threads=1)


def summarize(out, sides, seeds, threshold):
    table = {}
    for side in sides:
        for seed in seeds:
            run_dir = os.path.join(out, side, f"seed{seed}")
            result = (read_original(os.path.join(run_dir, "train.log")) if side == "original"
                      else read_ours(run_dir))
            result["plateau_exit"] = plateau_exit(result["loss_nats"], threshold)
            test = read_json(os.path.join(run_dir, "test.json")) if side == "original" else None
            if test:  # a SCAN type: the test set, decoded by the original's code, replaces its validation
                result["final"] = {"generalization": 100 * test["not_in_support"]["accuracy"], "retrieval": None,
                                   "validation": result["final"]}
            table.setdefault(side, {})[seed] = result
    return table


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def print_table(table, seeds, episodes):
    sides, step = list(table), max(100, episodes // 1000 * 100)
    print("seed  " + "".join(f"{side + ' gen %':>14}{'retr %':>8}{'exit':>7}" for side in sides))
    for seed in seeds:
        cells = []
        for side in sides:
            r = table[side][seed]
            final = r["final"] or {}
            cells.append(f"{fmt(final.get('generalization'), '.1f'):>14}{fmt(final.get('retrieval'), '.1f'):>8}"
                         f"{fmt(r['plateau_exit'], 'd'):>7}")
        print(f"{seed:<6}" + "".join(cells))
    for side in sides:
        print(f"\n{side}: training loss (nats), mean of the 100 episodes before each")
        shown = range(step, episodes + 1, step)
        print("seed  " + "".join(f"{e:>7}" for e in shown))
        for seed in seeds:
            curve = table[side][seed]["loss_nats"]
            print(f"{seed:<6}" + "".join(f"{fmt(curve.get(e), '.3f'):>7}" for e in shown))


def run(args, checkout):
    seeds = parse_int_ranges(args.seeds, "--seeds")
    sides = [s.strip() for s in args.sides.split(",")]
    if any(s not in ("original", "ours") for s in sides) or not sides:
        raise UsageError(f"--sides: expected original, ours or both, got {args.sides!r}")
    if args.episodes < 100 or args.workers < 1:
        raise UsageError("--episodes must be at least 100 and --workers at least 1")
    previous = os.path.join(args.out, "compare.json")
    if os.path.exists(previous):  # finished seeds are reused: they must be of the same recipe
        with open(previous) as f:
            record = json.load(f)
        for key in ("episode_type", "episodes"):
            if record[key] != getattr(args, key):
                raise UsageError(f"{args.out} was run with --{key.replace('_', '-')} {record[key]}; "
                                 "use another --out")
    jobs = [(side, seed) for seed in seeds for side in sides]
    with ThreadPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_side, side, checkout, args, seed, args.out) for side, seed in jobs]
        errors = [f.exception() for f in futures if f.exception()]
    table = summarize(args.out, sides, seeds, args.plateau_nats)
    write_json(os.path.join(args.out, "compare.json"), {
        "episode_type": args.episode_type, "episodes": args.episodes, "plateau_nats": args.plateau_nats,
        "original": f"{REPOSITORY}@{COMMIT}", "runs": table})
    print_table(table, seeds, args.episodes)
    if errors:
        raise UsageError("; ".join(str(e) for e in errors))
