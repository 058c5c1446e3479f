"""Transduction data of Wang (2023): the original generator and preprocess.transductions, split by split.

    python -m tools.compare_original transductions --original ~/src/rnn-seq2seq-learning --out runs/compare/trans

Runs the original's scripts/data.py (its own seed, PYTHONHASHSEED=0: it orders sets of strings, so the split of
strings into train/dev/test follows the hash seed) from a temporary folder, then ours for each task, and prints per
task and split: pairs, distinct pairs, input lengths, numbers of @, whether the pairs are the same set, whether the
counts per (length, number of @) agree, and whether our rule gives the original's target for every original input.
Writes <out>/compare.json. The two draw strings with different generators, so the sets differ; the counts should not.

Split names are ours; the original's are train, dev, test, gen. Input-specified reduplication left scripts/data.py
after commit 23e2780 (its rule there: every string w of every split with each n in 1-3, w@^n -> w^(n+1)); the
unseen counts come from notebooks/input_spec_red_RE_EVAL.ipynb (n in 4-6 with the test and gen strings, added to
gen). Both are rebuilt here from this commit's identity strings, which 23e2780 draws identically.
"""
import json
import os
import shlex
import subprocess
import tempfile
from collections import Counter

from seq_cli import UsageError
from tools.originals import seeded_command

REPOSITORY = "jaaack-wang/rnn-seq2seq-learning"
COMMIT = "89195b2958956c98af103b2f3058de8a69b251a5"
FILES = {
    "scripts/data.py": "78c4e0c523cd194e177bdcf9094f9013b6a19c07239ef90ebc7f07e6063e90bb",
    "scripts/utils.py": "41778ab5f9040ec03537bc4b9b0d773c0360a4f22849b4bf3d69034c43a20f5f",
}
RUNTIME_PATCHES = []
# our task -> the original's data folder (input-specified reduplication: rebuilt from identity's strings)
ORIGINAL_NAMES = {"identity": "identity", "reversal": "rev", "total_reduplication": "total_red",
                  "quadratic_copying": "quad_copy", "input_specified_reduplication": "identity"}
SPLITS = {"train": "train", "valid": "dev", "test": "test", "ood": "gen"}
ISR = "input_specified_reduplication"
SEEN, UNSEEN = (1, 2, 3), (4, 5, 6)


def add_arguments(parser):
    parser.add_argument("--tasks", default=",".join(ORIGINAL_NAMES),
                        help="comma-separated tasks of preprocess.transductions (default: all five)")
    parser.add_argument("--seed", type=int, default=0, help="our generator's seed (the original fixes its own)")
    parser.add_argument("--ours", default="", metavar="OPTIONS",
                        help="more options of preprocess.transductions for our side, e.g. \"--train-size 10\" "
                             "(default: none, its defaults are the original's sizes and lengths)")


def run_original(checkout, folder):
    """Run the original generator with ``folder`` as its working directory (it writes ./data/<task>/<split>.txt)."""
    command, env = seeded_command(checkout, 0, "scripts/data.py")
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"the original's scripts/data.py failed with status {result.returncode}: {tail}")
    return command


def read_original(folder, name, split):
    """(input, target) string pairs of one of the original's files (tab-separated, no final newline)."""
    path = os.path.join(folder, "data", name, f"{split}.txt")
    if not os.path.isfile(path):
        raise UsageError(f"the original's generator wrote no {os.path.relpath(path, folder)}")
    with open(path) as f:
        return [tuple(line.split("\t")) for line in f.read().split("\n") if line]


def original_splits(folder, task):
    """{our split name: [(input, target), ...]} of the original for ``task``."""
    splits = {ours: read_original(folder, ORIGINAL_NAMES[task], theirs) for ours, theirs in SPLITS.items()}
    if task != ISR:
        return splits

    def instructed(pairs, counts):
        return [(w + "@" * n, w * (n + 1)) for n in counts for w, _ in pairs]

    return {**{split: instructed(pairs, SEEN) for split, pairs in splits.items()},
            "ood_instr": instructed(splits["test"] + splits["ood"], UNSEEN)}


def our_splits(task, seed, options):
    from preprocess.transductions import build_parser, config_from_args, make_splits

    argv = ["--task", task, "--out", "DIR", "--seed", str(seed), *options]
    cfg = config_from_args(build_parser().parse_args(argv))
    return {split: [("".join(source), "".join(target)) for pairs in by_length.values() for source, target in pairs]
            for split, by_length in make_splits(cfg).items()}, argv


def describe(pairs):
    """Pairs, distinct pairs and counts per (input length, number of @) of one side's split."""
    counts = Counter((len(source) - source.count("@"), source.count("@")) for source, _ in pairs)
    return {"pairs": len(pairs), "distinct": len(set(pairs)),
            "per_length_and_n": {f"{length},{n}": c for (length, n), c in sorted(counts.items())}}


def compact(values):
    """Sorted integers as ranges: [1, 2, 3, 5] -> '1-3,5'."""
    values, parts = sorted(values), []
    for v in values:
        if parts and v == parts[-1][1] + 1:
            parts[-1][1] = v
        else:
            parts.append([v, v])
    return ",".join(f"{a}-{b}" if a != b else f"{a}" for a, b in parts) or "-"


def keys(summary, position):
    return {int(key.split(",")[position]) for key in summary["per_length_and_n"]}


def compare(task, theirs, ours):
    from preprocess.transductions import transduce

    rows = []
    for split in ours:
        mine, original = ours[split], theirs.get(split, [])
        rule = all("".join(transduce(task, s.replace("@", ""), s.count("@"))[1]) == t for s, t in original)
        a, b = describe(original), describe(mine)
        rows.append({"task": task, "split": split, "original": a, "ours": b, "same_pairs": set(original) == set(mine),
                     "same_counts": a["per_length_and_n"] == b["per_length_and_n"], "rule_agrees": rule})
    return rows


def format_rows(rows):
    header = (f"{'task':<29} {'split':<9} {'pairs orig/ours':>17} {'distinct orig/ours':>19} "
              f"{'lengths orig / ours':>23} {'@ orig/ours':>11} {'same set':>8} {'same counts':>11} {'rule':>4}")
    lines = [header]
    yes = {True: "yes", False: "no"}
    for r in rows:
        a, b = r["original"], r["ours"]
        lines.append(f"{r['task']:<29} {r['split']:<9} {a['pairs']:>8}/{b['pairs']:<8} "
                     f"{a['distinct']:>9}/{b['distinct']:<9} "
                     f"{compact(keys(a, 0)):>11} / {compact(keys(b, 0)):<9} "
                     f"{compact(keys(a, 1) - {0}):>5}/{compact(keys(b, 1) - {0}):<5} "
                     f"{yes[r['same_pairs']]:>8} {yes[r['same_counts']]:>11} {yes[r['rule_agrees']]:>4}")
    return "\n".join(lines)


def run(args, checkout):
    from preprocess.transductions import TASKS

    tasks = args.tasks.split(",")
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise UsageError(f"--tasks: unknown task {unknown[0]!r}; choose from {', '.join(TASKS)}")
    os.makedirs(args.out, exist_ok=True)
    rows, ours_commands = [], {}
    with tempfile.TemporaryDirectory(prefix="original-transductions-") as folder:
        command = run_original(checkout, folder)
        for task in tasks:
            splits, argv = our_splits(task, args.seed, shlex.split(args.ours))
            ours_commands[task] = "python -m preprocess.transductions " + shlex.join(argv)
            rows += compare(task, original_splits(folder, task), splits)
    record = {"original": {"repository": REPOSITORY, "commit": COMMIT, "checkout": checkout,
                           "command": command, "env": {"PYTHONHASHSEED": "0"}},
              "ours": ours_commands, "rows": rows}
    path = os.path.join(args.out, "compare.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
    print(format_rows(rows))
    print(f"wrote {path}")
    return record
