"""One meta seq2seq run of Lake (2019) Tables 2-3 (or mutual exclusivity): train, decode the test episode, and write
its result file, the small JSON the claims ledger reads.

    python -m tools.meta_seq2seq_run cell add_jump_permutation 1          # one cell of the paper, seed 1
    python -m tools.meta_seq2seq_run list                                 # the cells, their flags and seeds done
    python -m tools.meta_seq2seq_run train scan_prim_permutation 1 10000 [fairseq-train flags...]

``cell`` trains into runs/meta_seq2seq/<cell>_<seed>/ (fairseq-train resumes from its checkpoint_last.pt when the
run was cut off) and writes docs/results/meta_seq2seq/runs/<cell>/seed<seed>.json (tools/result_files.py): the test
episode's greedy exact match, the training loss every 100 episodes, the commands, the commit, CPU and wall time. A cell whose result
file exists is not rerun. ``train`` is what tools/reproduce_meta_seq2seq.sh runs: any episode type and flags, into
$OUT_DIR or runs/meta_seq2seq/<RUN_NAME or TYPE_EPISODES_SEED>, with the test result in test.json there.

The budget is the paper's: 10,000 episodes, Adam at lr 1e-3 and 1e-4 from the halfway point, gradient norm
clipped at 50, one thread.
"""
import argparse
import os
import sys
from dataclasses import dataclass

from seq_cli import OneLineArgumentParser, UsageError, command_name, console
from tools.atomic_files import read_json, write_json
from tools.result_files import (RESULTS, commit, read_cell, read_result, relative_command, result_path, timed,
                                write_result)

PROG = command_name("python -m tools.meta_seq2seq_run")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = "meta_seq2seq"
RUNS = os.path.join(ROOT, "runs", "meta_seq2seq")
EPISODE_TYPES = ("me", "scan_prim_permutation", "scan_prim_augmentation", "scan_around_right", "scan_length",
                 "scan_prim_standard", "scan_prim_augmentation_standard", "scan_around_right_standard",
                 "scan_length_standard")
EPISODES = 10_000


@dataclass(frozen=True)
class Cell:
    """One cell of the paper's tables: how it is trained and what the paper reports (mean and SD of 5 runs, %)."""
    episode_type: str
    flags: tuple
    paper_mean: float
    paper_sd: float | None
    label: str
    seeds: int  # how many seeds the ledger asks for


STANDARD = ("--no-memory",)
CELLS = {
    "me": Cell("me", (), 100.0, None, "mutual exclusivity, meta seq2seq", 5),
    "add_jump_permutation": Cell("scan_prim_permutation", (), 99.95, 0.08,
                                 "add jump, meta seq2seq, permutation meta-training", 5),
    "add_jump_augmentation": Cell("scan_prim_augmentation", (), 98.71, 1.49,
                                  "add jump, meta seq2seq, augmentation meta-training", 5),
    "around_right": Cell("scan_around_right", (), 99.96, 0.08, "around right, meta seq2seq", 5),
    "length": Cell("scan_length", (), 16.64, 2.10, "length, meta seq2seq", 5),
    "add_jump_permutation_no_support_loss": Cell("scan_prim_permutation", ("--no-support-loss",), 5.43, 7.6,
                                                 "add jump, permutation, without support loss", 3),
    "add_jump_augmentation_no_support_loss": Cell("scan_prim_augmentation", ("--no-support-loss",), 99.48, 0.37,
                                                  "add jump, augmentation, without support loss", 3),
    "add_jump_permutation_no_decoder_attention": Cell("scan_prim_permutation", ("--no-decoder-attention",), 10.32,
                                                      6.4, "add jump, permutation, without decoder attention", 3),
    "add_jump_augmentation_no_decoder_attention": Cell("scan_prim_augmentation", ("--no-decoder-attention",), 9.29,
                                                       13.07, "add jump, augmentation, without decoder attention", 3),
    "add_jump_seq2seq": Cell("scan_prim_standard", STANDARD, 0.03, 0.02,
                             "add jump, standard seq2seq, standard training", 3),
    "add_jump_seq2seq_augmented": Cell("scan_prim_augmentation_standard", STANDARD, 12.26, 8.33,
                                       "add jump, standard seq2seq, augmented training", 3),
    "around_right_seq2seq": Cell("scan_around_right_standard", STANDARD, 0.0, None,
                                 "around right, standard seq2seq", 3),
    "length_seq2seq": Cell("scan_length_standard", STANDARD, 7.71, 1.90, "length, standard seq2seq", 3),
}


def train_flags(episode_type, seed, episodes, save_dir):
    """fairseq-train's flags of one run at the paper's budget; 10 epochs, the last five at lr 1e-4."""
    return ["--user-dir", "seq_plugins", "--task", "meta_seq2seq_episodes", "--episode-type", episode_type,
            "--arch", "meta_seq2seq", "--criterion", "cross_entropy_acc", "--optimizer", "adam",
            "--lr-scheduler", "fixed", "--lr", "0.001,0.001,0.001,0.001,0.001,0.0001", "--clip-norm", "50",
            "--max-update", str(episodes), "--episodes-per-epoch", str(max(1, episodes // 10)), "--batch-size", "1",
            "--num-workers", "0", "--seed", str(seed), "--save-dir", save_dir, "--no-epoch-checkpoints",
            "--log-format", "simple", "--log-interval", "100"]


def parse_count(text, what):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise UsageError(f"{what} {text!r}: expected a non-negative integer")
    return value


def check_episode_type(name):
    if name not in EPISODE_TYPES:
        raise UsageError(f"unknown episode type {name!r}; choose from {', '.join(EPISODE_TYPES)}")
    return name


def bin_path(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def train_and_test(episode_type, seed, episodes, extra, out):
    """Train (resuming from ``out``'s checkpoint) and decode the test episode into out/test.json. The CPU and wall
    time of every part, resumed ones included, add up in out/timing.json."""
    os.makedirs(out, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    train = [bin_path("fairseq-train"), *train_flags(episode_type, seed, episodes, out), *extra]
    test = [sys.executable, "-m", "tools.meta_seq2seq_eval", "--checkpoint", os.path.join(out, "checkpoint_last.pt"),
            "--include-support", "--out", os.path.join(out, "test.json")]
    timing_file = os.path.join(out, "timing.json")
    timing = read_json(timing_file) or {"cpu_s": 0.0, "wall_s": 0.0, "parts": 0}
    log = os.path.join(out, "train.log")
    status, cpu, wall = timed(train, log, env)
    timing = {"cpu_s": timing["cpu_s"] + cpu, "wall_s": timing["wall_s"] + wall, "parts": timing["parts"] + 1}
    write_json(timing_file, timing)
    if status:
        raise UsageError(f"fairseq-train exited with {status}; see {log}")
    status, cpu, wall = timed(test, os.path.join(out, "test.txt"), env)
    if status:
        raise UsageError(f"the test episode's decoding exited with {status}; see {os.path.join(out, 'test.txt')}")
    write_json(timing_file, {**timing, "test_cpu_s": cpu, "test_wall_s": wall})
    return {"train": train, "test": test}


def run_cell(cell_name, seed, episodes=EPISODES, results=RESULTS, runs=RUNS, run_dir=None):
    """Train and test one seed of a cell into ``run_dir`` (default: runs/<cell>_<seed>) unless its result file
    exists; the cell's record."""
    from tools.originals.meta_seq2seq import read_ours

    if cell_name not in CELLS:
        raise UsageError(f"unknown cell {cell_name!r}; choose from {', '.join(CELLS)}")
    if episodes != EPISODES and os.path.abspath(results) == RESULTS:
        raise UsageError(f"--episodes {episodes}: the ledger's result files are of the paper's {EPISODES:,} episodes; "
                         "give another --results folder")
    path = result_path(STUDY, cell_name, seed, results)
    if os.path.exists(path):
        print(f"{path} exists: cell {cell_name} seed {seed} is done")
        return read_result(path, STUDY, cell_name)
    cell = CELLS[cell_name]
    out = run_dir or os.path.join(runs, f"{cell_name}_{seed}" + ("" if episodes == EPISODES else f"_{episodes}"))
    revision = commit()
    commands = train_and_test(cell.episode_type, seed, episodes, list(cell.flags), out)
    test = read_json(os.path.join(out, "test.json"))
    timing = read_json(os.path.join(out, "timing.json"))
    curve = read_ours(out)["loss_nats"]
    metrics = {"test_accuracy": 100 * test["not_in_support"]["accuracy"], "test_correct": test["not_in_support"][
        "correct"], "test_n": test["not_in_support"]["n"],
        "support_accuracy": 100 * test["in_support"]["accuracy"] if test["in_support"]["n"] else None}
    write_result(path, study=STUDY, cell=cell_name, seed=seed,
                 config={"episodes": episodes, "episode_type": cell.episode_type, "flags": list(cell.flags)},
                 metrics=metrics,
                 curve={"x": "episode", "y": "training loss (nats), mean of the 100 episodes before",
                        "points": [[e, round(curve[e], 5)] for e in sorted(curve)]},
                 commands={k: relative_command(v) for k, v in commands.items()}, commit=revision,
                 cpu_s=round(timing["cpu_s"] + timing.get("test_cpu_s", 0), 1),
                 wall_s=round(timing["wall_s"] + timing.get("test_wall_s", 0), 1), threads=1)
    print(f"wrote {path}")
    print(f"{cell_name} seed {seed}: {metrics['test_accuracy']:.2f}% of {metrics['test_n']} test queries "
          f"(paper {cell.paper_mean}%), {(timing['cpu_s'] + timing['test_cpu_s']) / 60:.1f} CPU-min")
    return read_result(path, STUDY, cell_name)


def list_cells():
    for name, cell in CELLS.items():
        done = [record["seed"] for record in read_cell(STUDY, name)]
        print(f"{name:<44} {cell.episode_type:<32} {' '.join(cell.flags):<24} seeds done: "
              f"{','.join(map(str, done)) or '-'} (of {cell.seeds})")


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=OneLineArgumentParser)
    cell = verbs.add_parser("cell", help="one cell of the paper's tables")
    cell.add_argument("cell", help=f"one of {', '.join(CELLS)}")
    cell.add_argument("seed")
    cell.add_argument("--episodes", type=int, default=EPISODES,
                      help="training episodes (default: the paper's 10,000; the ledger reads no other budget)")
    cell.add_argument("--results", default=RESULTS,
                      help="the folder of every study's results: <it>/meta_seq2seq/runs/<cell>/seed<N>.json")
    cell.add_argument("--runs", default=RUNS, help="where the run directories go (default: %(default)s)")
    verbs.add_parser("list", help="the cells and the seeds whose result files exist")
    train = verbs.add_parser("train", help="one run of any episode type and flags")
    train.add_argument("episode_type", help=f"one of {', '.join(EPISODE_TYPES)}")
    train.add_argument("seed")
    train.add_argument("episodes")
    train.add_argument("extra", nargs=argparse.REMAINDER, help="more fairseq-train flags")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.verb == "list":
        return list_cells()
    seed = parse_count(args.seed, "seed")
    if args.verb == "cell":
        if args.cell not in CELLS:
            raise UsageError(f"unknown cell {args.cell!r}; choose from {', '.join(CELLS)}")
        if args.episodes < 1:
            raise UsageError(f"--episodes {args.episodes}: expected at least 1")
        return run_cell(args.cell, seed, args.episodes, args.results, args.runs)
    episodes = parse_count(args.episodes, "episodes")
    check_episode_type(args.episode_type)
    name = os.environ.get("RUN_NAME") or f"{args.episode_type}_{episodes}_{seed}"
    out = os.environ.get("OUT_DIR") or os.path.join(RUNS, name)
    train_and_test(args.episode_type, seed, episodes, args.extra, out)


def cli():
    """The seq-meta-run command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
