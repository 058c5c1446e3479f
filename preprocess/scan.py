"""SCAN (Lake & Baroni 2018) enumerated from its grammar, interpreted, and split by rule.

    python -m preprocess.scan --split addprim_jump --out data/scan/addprim_jump
    python -m preprocess.scan --split simple --seed 3 --out data/scan/simple_3
    python -m preprocess.scan --official-train tasks_train_x.txt --official-test tasks_test_x.txt --out data/scan/x

Writes ``<out>/raw/{train,test}.txt`` (the official ``IN: ... OUT: ...`` lines), ``<out>/data-bin/`` (splits train
and test, dictionaries over the whole SCAN vocabulary so every split shares symbol ids) and ``<out>/config.json``.
No data files are needed: the 20,910 commands come from the grammar
    C -> S and S | S after S | S;   S -> V twice | V thrice | V;   V -> x opposite d | x around d | x d | U
with x in {walk, look, run, jump, turn}, d in {left, right}, U in {walk, look, run, jump}.
"""
import argparse
import itertools
import os
from collections import Counter

import numpy as np

from preprocess.dataset_dir import atomic_dataset_dir, holds_same_dataset
from seq_plugins.cli import OneLineArgumentParser, UsageError, run_main

PROG = "python -m preprocess.scan"
PRIMITIVES = ("walk", "look", "run", "jump")
VERBS = PRIMITIVES + ("turn",)
DIRECTIONS = ("left", "right")
ACTIONS = {"walk": "I_WALK", "look": "I_LOOK", "run": "I_RUN", "jump": "I_JUMP", "turn": None}
TURNS = {"left": "I_TURN_LEFT", "right": "I_TURN_RIGHT"}
REPEATS = {"twice": 2, "thrice": 3}
CONJUNCTIONS = ("and", "after")
LENGTH_CUTOFF = 22  # the length split trains on outputs of at most this many actions

# Template splits: (phrase kind, fillers whose phrases make a test command, fillers allowed in training).
# A training command holds only allowed fillers of the phrase, a test command a test filler; a command in which
# `turn` fills the phrase belongs to neither side (as in the official files).
TEMPLATES = {
    "template_around_right": ("around right", set(PRIMITIVES), set()),
    "template_opposite_right": ("opposite right", set(PRIMITIVES), set()),
    "template_right": ("right", set(PRIMITIVES), set()),
    "template_jump_around_right": ("around right", {"jump"}, {"walk", "look", "run"}),
    "filler_num0": ("around right", {"jump"}, set()),
    "filler_num1": ("around right", {"jump"}, {"look"}),
    "filler_num2": ("around right", {"jump"}, {"look", "walk"}),
    "filler_num3": ("around right", {"jump"}, {"look", "walk", "run"}),
}
ADDPRIM = {"addprim_jump": "jump", "addprim_turn_left": "turn left"}
SPLITS = ("simple", "length", *ADDPRIM, *TEMPLATES)


def _verb_phrases():
    phrases = [[u] for u in PRIMITIVES]
    for x, d in itertools.product(VERBS, DIRECTIONS):
        phrases += [[x, d], [x, "opposite", d], [x, "around", d]]
    return phrases


def commands():
    """Every SCAN command as a string, in a fixed order: 20,910 of them."""
    simple = [v + ([r] if r else []) for v in _verb_phrases() for r in (None, *REPEATS)]
    out = [" ".join(s) for s in simple]
    for conj in CONJUNCTIONS:
        out += [" ".join(a + [conj] + b) for a in simple for b in simple]
    return out


def parse(command):
    """A command as [[(x, modifier, d, repeat), ...], conjunction]: modifier in {"", "opposite", "around"}, d ""
    for a bare primitive. A ValueError names what does not parse."""
    words = command.split()
    conj = next((c for c in CONJUNCTIONS if c in words), None)
    parts = [words]
    if conj:
        i = words.index(conj)
        parts = [words[:i], words[i + 1:]]
    phrases = []
    for part in parts:
        repeat = 1
        if part and part[-1] in REPEATS:
            repeat, part = REPEATS[part[-1]], part[:-1]
        if len(part) == 1 and part[0] in PRIMITIVES:
            phrases.append((part[0], "", "", repeat))
        elif len(part) == 2 and part[0] in VERBS and part[1] in DIRECTIONS:
            phrases.append((part[0], "", part[1], repeat))
        elif len(part) == 3 and part[0] in VERBS and part[1] in ("opposite", "around") and part[2] in DIRECTIONS:
            phrases.append((part[0], part[1], part[2], repeat))
        else:
            raise ValueError(f"{' '.join(part)!r} is not a SCAN phrase")
    return phrases, conj


def interpret(command):
    """The action sequence (a list of I_* symbols) a command means."""
    phrases, conj = parse(command)
    meanings = []
    for x, modifier, d, repeat in phrases:
        act = [ACTIONS[x]] if ACTIONS[x] else []
        if modifier == "around":
            actions = ([TURNS[d]] + act) * 4
        elif modifier == "opposite":
            actions = [TURNS[d]] * 2 + act
        else:
            actions = ([TURNS[d]] if d else []) + act
        meanings.append(actions * repeat)
    if conj == "after":
        meanings.reverse()
    return [a for m in meanings for a in m]


def fillers(command, phrase):
    """The verbs that fill template ``phrase`` ("around right", "opposite right" or "right") in a command."""
    modifier, _, d = phrase.rpartition(" ")
    return {x for x, m, dd, _ in parse(command)[0] if m == modifier and dd == d}


def line(command):
    return f"IN: {command} OUT: {' '.join(interpret(command))}"


def make_split(name, seed=0):
    """(train commands, test commands) of a rule-based or random split; train may repeat a command."""
    everything = commands()
    if name == "simple":
        order = np.random.default_rng(seed).permutation(len(everything))
        n_train = round(0.8 * len(everything))
        return [everything[i] for i in order[:n_train]], [everything[i] for i in order[n_train:]]
    if name == "length":
        short = [len(interpret(c)) <= LENGTH_CUTOFF for c in everything]
        return ([c for c, s in zip(everything, short) if s], [c for c, s in zip(everything, short) if not s])
    if name in ADDPRIM:
        prim = ADDPRIM[name]
        test = [c for c in everything if f" {prim} " in f" {c} " and c != prim]
        rest = [c for c in everything if f" {prim} " not in f" {c} "]
        # the bare primitive, repeated, makes up 10% of the training lines
        return rest + [prim] * round(len(rest) / 9), test
    if name in TEMPLATES:
        phrase, test_fillers, allowed = TEMPLATES[name]
        found = [fillers(c, phrase) for c in everything]
        return ([c for c, f in zip(everything, found) if f <= allowed],
                [c for c, f in zip(everything, found) if f & test_fillers and "turn" not in f])
    raise UsageError(f"unknown split {name!r}; choose from {', '.join(SPLITS)}")


def read_official(path):
    """Commands of an official split file, each checked against the interpreter; a UsageError names the line."""
    if not os.path.isfile(path):
        raise UsageError(f"{path} does not exist")
    out = []
    with open(path) as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            head, sep, actions = text.strip().partition(" OUT: ")
            if not sep or not head.startswith("IN: "):
                raise UsageError(f"{path}:{number}: expected 'IN: <command> OUT: <actions>'")
            command = head[len("IN: "):].strip()
            try:
                meaning = interpret(command)
            except ValueError as err:
                raise UsageError(f"{path}:{number}: {err}") from None
            if actions.split() != meaning:
                raise UsageError(f"{path}:{number}: OUT does not match the meaning of {command!r}")
            out.append(command)
    if not out:
        raise UsageError(f"{path} holds no lines")
    return out


def vocabularies():
    """Every input word and every action of SCAN, for dictionaries shared by all splits."""
    words = sorted({w for c in commands() for w in c.split()})
    return words, sorted(TURNS.values()) + sorted(a for a in ACTIONS.values() if a)


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


if __name__ == "__main__":
    run_main(main, PROG)
