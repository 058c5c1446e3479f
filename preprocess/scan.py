"""Write a SCAN split (Lake & Baroni 2018) made by rule from the grammar, or imported from the official files.

    python -m preprocess.scan --split addprim_jump --out data/scan/addprim_jump
    python -m preprocess.scan --split simple --seed 3 --out data/scan/simple_3
    python -m preprocess.scan --official-train tasks_train_x.txt --official-test tasks_test_x.txt --out data/scan/x

Writes ``<out>/raw/{train,test}.txt`` (the official ``IN: ... OUT: ...`` lines), ``<out>/data-bin/`` (splits train
and test, dictionaries over the whole SCAN vocabulary so every split shares symbol ids) and ``<out>/config.json``.
"""
import argparse
import os
from collections import Counter

from preprocess.dataset_dir import atomic_dataset_dir, holds_same_dataset
from preprocess.scan_grammar import SPLITS, interpret, line, make_split, read_official, vocabularies
from seq_cli import OneLineArgumentParser, UsageError, command_name, console

PROG = command_name("python -m preprocess.scan")


def shared_dictionaries():
    from preprocess.binarize import build_dictionary

    words, actions = vocabularies()
    return {"src": build_dictionary(words), "tgt": build_dictionary(actions)}


def write_dataset(cfg, out, train, test):
    from preprocess.binarize import binarize

    with atomic_dataset_dir(cfg, out) as tmp:
        os.makedirs(os.path.join(tmp, "raw"))
        splits = {}
        for name, cmds in (("train", train), ("test", test)):
            with open(os.path.join(tmp, "raw", f"{name}.txt"), "w") as f:
                f.write("".join(line(c) + "\n" for c in cmds))
            splits[name] = (cmds, [" ".join(interpret(c)) for c in cmds])
        binarize(splits, os.path.join(tmp, "data-bin"), shared_dictionaries())


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=SPLITS, help="a split made by rule (simple: random 80/20 by --seed)")
    parser.add_argument("--official-train", help="import an official training file instead of --split")
    parser.add_argument("--official-test", help="the official test file that goes with --official-train")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simple split")
    parser.add_argument("--out", required=True)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    official = (args.official_train, args.official_test)
    if bool(args.split) == any(official):
        raise UsageError("give either --split or --official-train and --official-test")
    if args.split:
        cfg = {"split": args.split, **({"seed": args.seed} if args.split == "simple" else {})}
    else:
        if not all(official):
            raise UsageError("--official-train and --official-test go together")
        cfg = {"official_train": os.path.abspath(args.official_train), "official_test": os.path.abspath(args.official_test)}
    if holds_same_dataset(cfg, args.out):
        print(f"{args.out} already holds this data set; nothing to do")
        return
    train, test = make_split(args.split, args.seed) if args.split else (read_official(official[0]),
                                                                         read_official(official[1]))
    write_dataset(cfg, args.out, train, test)
    print(f"wrote SCAN {args.split or 'official split'} to {args.out}: train {len(train)} "
          f"({len(Counter(train))} distinct), test {len(test)}")


def cli():
    """The seq-scan-data command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
