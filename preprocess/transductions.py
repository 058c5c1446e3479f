"""Transduction data sets of Wang (2023), "Learning Transductions and Alignments with RNN Seq2seq Models".

    python -m preprocess.transductions --task reversal --out data/reversal

Writes ``<out>/raw/<split>/lenNN.{src,tgt}`` (one file per split and input length, space-separated symbols),
``<out>/data-bin/`` (splits train, valid, test, ood and, for input-specified reduplication, ood_instr) and
``<out>/config.json`` (the options, so a directory is never silently refilled with other data).
In-distribution lengths give disjoint train/valid/test strings; every split is a pure function of the seed.
Input-specified reduplication pairs every string with each count of --instructions (the sizes count strings), and
ood_instr holds the test and ood strings with each count of --ood-instructions, at every length (Wang 2023).
"""
import argparse
import itertools
import os

import numpy as np

from preprocess.dataset_dir import atomic_dataset_dir, holds_same_dataset
from preprocess.memory_bound import check_fits, pairs_bytes
from seq_cli import OneLineArgumentParser, UsageError, command_name, console, parse_int_ranges

PROG = command_name("python -m preprocess.transductions")
INSTRUCTION = "@"
DEFAULT_ALPHABET = "abcdefghijklmnopqrstuvwxyz"

TASKS = {
    "identity": lambda word, n: word,
    "reversal": lambda word, n: word[::-1],
    "total_reduplication": lambda word, n: word + word,
    "input_specified_reduplication": lambda word, n: word * (n + 1),
    "quadratic_copying": lambda word, n: word * len(word),
}
INSTRUCTED_TASKS = {"input_specified_reduplication"}
# the target length of TASKS for n input symbols and k instructions, to bound the data before making it
TARGET_LENGTH = {
    "identity": lambda n, k: n,
    "reversal": lambda n, k: n,
    "total_reduplication": lambda n, k: 2 * n,
    "input_specified_reduplication": lambda n, k: n * (k + 1),
    "quadratic_copying": lambda n, k: n * n,
}
# draw_strings keeps each string it draws as a list and, while drawing, as a tuple of numpy scalars (measured: see
# preprocess.memory_bound)
BYTES_PER_DRAWN_SYMBOL = 48

# Seed stream of the strings: they depend on (seed, length) only, so every task sees the same inputs for the same seed.
_STRINGS_STREAM = 0


def transduce(task, word, n_instructions=0):
    """Source and target symbol lists for one input string ``word`` (a list of symbols)."""
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    source = list(word) + [INSTRUCTION] * (n_instructions if task in INSTRUCTED_TASKS else 0)
    return source, list(TASKS[task](list(word), n_instructions))


def word_length(source_symbols):
    """Length of the input string of a source line, i.e. without instruction symbols."""
    return sum(symbol != INSTRUCTION for symbol in source_symbols)


def draw_strings(rng, alphabet, length, count, distinct=True):
    """``count`` strings of ``length`` symbols in a seed-determined order.

    distinct=True: all different (an error if fewer exist). distinct=False: distinct where possible, otherwise
    every existing string in random order, repeated until ``count`` are drawn.
    """
    existing = len(alphabet) ** length
    if count > existing and distinct:
        raise UsageError(
            f"cannot draw {count} distinct strings of length {length} from {len(alphabet)} symbols "
            f"(only {existing} exist); lower the sizes or widen --alphabet")
    if existing <= max(4 * count, 10_000):
        everything = [list(s) for s in itertools.product(alphabet, repeat=length)]
        order = rng.permutation(existing)
        return [everything[order[i % existing]] for i in range(count)]
    chosen, seen = [], set()
    while len(chosen) < count:
        for row in rng.integers(0, len(alphabet), size=(2 * (count - len(chosen)), length)):
            key = tuple(row)
            if key not in seen:
                seen.add(key)
                chosen.append([alphabet[i] for i in row])
                if len(chosen) == count:
                    break
    return chosen


def make_splits(cfg):
    """{split: {length: [(source symbols, target symbols), ...]}} for the options in ``cfg``.

    The instructed task pairs every string with each count of ``instructions`` (count-major, as Wang 2023 does),
    and ood_instr pairs the test strings (in-distribution lengths) and the ood strings with each unseen count."""
    from seq_plugins.progress import Progress  # seq_plugins loads fairseq: only after the arguments are checked

    alphabet, task, seed = list(cfg["alphabet"]), cfg["task"], cfg["seed"]
    instructed = task in INSTRUCTED_TASKS
    splits = {"train": {}, "valid": {}, "test": {}, "ood": {}}
    if instructed:
        splits["ood_instr"] = {}

    def pairs(words, counts):
        return [transduce(task, word, n) for n in counts for word in words]

    counts = cfg["instructions"] if instructed else [0]
    sizes = [("train", cfg["train_size"]), ("valid", cfg["dev_size"]), ("test", cfg["test_size"])]
    with Progress(len(cfg["id_lengths"]) + len(cfg["ood_lengths"]), "drawing strings", "lengths") as progress:
        for length in cfg["id_lengths"]:
            words = draw_strings(np.random.default_rng([seed, _STRINGS_STREAM, length]), alphabet, length,
                                 sum(size for _, size in sizes))
            start = 0
            for split, size in sizes:
                splits[split][length] = pairs(words[start:start + size], counts)
                start += size
            if instructed:
                splits["ood_instr"][length] = pairs(words[start - cfg["test_size"]:start], cfg["ood_instructions"])
            progress.update()
        for length in cfg["ood_lengths"]:
            words = draw_strings(np.random.default_rng([seed, _STRINGS_STREAM, length]), alphabet, length,
                                 cfg["ood_size"], distinct=False)
            splits["ood"][length] = pairs(words, counts)
            if instructed:
                splits["ood_instr"][length] = pairs(words, cfg["ood_instructions"])
            progress.update()
    return splits


def write_dataset(cfg, out):
    """Write raw text per split and length, the binarized data-bin and config.json, atomically."""
    from preprocess.binarize import binarize  # fairseq import is slow; keep --help fast

    splits = make_splits(cfg)
    with atomic_dataset_dir(cfg, out) as tmp:
        flat = {}
        for split, by_length in splits.items():
            os.makedirs(os.path.join(tmp, "raw", split))
            src_lines, tgt_lines = [], []
            for length, examples in sorted(by_length.items()):
                src = [" ".join(s) for s, _ in examples]
                tgt = [" ".join(t) for _, t in examples]
                for ext, lines in (("src", src), ("tgt", tgt)):
                    with open(os.path.join(tmp, "raw", split, f"len{length:02d}.{ext}"), "w") as f:
                        f.write("".join(line + "\n" for line in lines))
                src_lines += src
                tgt_lines += tgt
            flat[split] = (src_lines, tgt_lines)
        binarize(flat, os.path.join(tmp, "data-bin"))
    return splits


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, choices=sorted(TASKS))
    parser.add_argument("--out", required=True, help="output directory (created; must be empty or hold the same data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alphabet", default=DEFAULT_ALPHABET, help="input symbols, one character each")
    parser.add_argument("--id-lengths", default="6-15", help="in-distribution lengths (default 6-15)")
    parser.add_argument("--ood-lengths", default="1-5,16-30", help="out-of-distribution lengths (default 1-5,16-30)")
    parser.add_argument("--train-size", type=int, default=1000, help="training strings per length")
    parser.add_argument("--dev-size", type=int, default=1000, help="validation strings per length")
    parser.add_argument("--test-size", type=int, default=5000, help="test strings per length")
    parser.add_argument("--ood-size", type=int, default=5000, help="out-of-distribution strings per length")
    parser.add_argument("--instructions", default="1-3",
                        help="numbers of @, each paired with every string of train/valid/test/ood (instructed task)")
    parser.add_argument("--ood-instructions", default="4-6",
                        help="numbers of @ in the ood_instr split: test and ood strings, all lengths")
    return parser


def config_from_args(args):
    alphabet = args.alphabet
    if not alphabet or len(set(alphabet)) != len(alphabet) or any(c.isspace() or c == INSTRUCTION for c in alphabet):
        raise UsageError(f"--alphabet {alphabet!r}: needs distinct characters, no whitespace and no {INSTRUCTION!r}")
    cfg = {
        "task": args.task, "seed": args.seed, "alphabet": alphabet,
        "id_lengths": parse_int_ranges(args.id_lengths, "--id-lengths"),
        "ood_lengths": parse_int_ranges(args.ood_lengths, "--ood-lengths"),
        "train_size": args.train_size, "dev_size": args.dev_size,
        "test_size": args.test_size, "ood_size": args.ood_size,
    }
    for key in ("train_size", "dev_size", "test_size", "ood_size"):
        if cfg[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be at least 1, got {cfg[key]}")
    overlap = set(cfg["id_lengths"]) & set(cfg["ood_lengths"])
    if overlap:
        raise UsageError(f"--id-lengths and --ood-lengths share lengths {sorted(overlap)}")
    if args.task in INSTRUCTED_TASKS:
        cfg["instructions"] = parse_int_ranges(args.instructions, "--instructions")
        cfg["ood_instructions"] = parse_int_ranges(args.ood_instructions, "--ood-instructions")
        # data made when each string drew one random count lack this key, so they are refused, not reused
        cfg["pairing"] = "every string with each count"
    check_fits(memory_requests(cfg, args))
    return cfg


def memory_requests(cfg, args):
    """{size option and its lengths, as given: the bytes they ask for}, for preprocess.memory_bound."""
    seen = cfg.get("instructions", [0])
    both = seen + cfg.get("ood_instructions", [])  # ood_instr repeats the test and ood strings with unseen counts
    requests = {}
    for split, lengths, counts in (("train", "id", seen), ("dev", "id", seen), ("test", "id", both),
                                   ("ood", "ood", both)):
        symbols = [n + k + TARGET_LENGTH[cfg["task"]](n, k) for n in cfg[f"{lengths}_lengths"] for k in counts]
        size = cfg[f"{split}_size"]
        option = f"--{split}-size {size} with --{lengths}-lengths {getattr(args, f'{lengths}_lengths')}"
        if cfg["task"] in INSTRUCTED_TASKS:
            option += f", --instructions {args.instructions}" + (
                f", --ood-instructions {args.ood_instructions}" if counts is both else "")
        requests[option] = (pairs_bytes(size * len(symbols), size * sum(symbols))
                            + size * sum(cfg[f"{lengths}_lengths"]) * BYTES_PER_DRAWN_SYMBOL)
    return requests


def main(argv=None):
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    if holds_same_dataset(cfg, args.out):
        print(f"{args.out} already holds this data set; nothing to do")
        return
    splits = write_dataset(cfg, args.out)
    counts = ", ".join(f"{split} {sum(map(len, by_length.values()))}" for split, by_length in splits.items())
    print(f"wrote {args.task} to {args.out}: {counts}")


def cli():
    """The seq-transduction-data command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
