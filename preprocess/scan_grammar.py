"""SCAN (Lake & Baroni 2018): the grammar, its interpreter, the rule-based splits and the official files' reader.

The 20,910 commands come from the grammar
    C -> S and S | S after S | S;   S -> V twice | V thrice | V;   V -> x opposite d | x around d | x d | U
with x in {walk, look, run, jump, turn}, d in {left, right}, U in {walk, look, run, jump}; no data files needed.
"""
import itertools
import os

import numpy as np

from seq_cli import UsageError

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


def read_lines(path):
    """(line number, command words, action words) of each ``IN: ... OUT: ...`` line of a file in the official
    format; a UsageError names the file and the line."""
    if not os.path.isfile(path):
        raise UsageError(f"{path} does not exist")
    pairs = []
    with open(path) as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            head, sep, actions = text.strip().partition(" OUT: ")
            if not sep or not head.startswith("IN: ") or not head[4:].split() or not actions.split():
                raise UsageError(f"{path}:{number}: expected 'IN: <command> OUT: <actions>'")
            pairs.append((number, head[4:].split(), actions.split()))
    if not pairs:
        raise UsageError(f"{path} holds no lines")
    return pairs


def read_official(path):
    """Commands of an official split file, each checked against the interpreter; a UsageError names the line."""
    out = []
    for number, words, actions in read_lines(path):
        command = " ".join(words)
        try:
            meaning = interpret(command)
        except ValueError as err:
            raise UsageError(f"{path}:{number}: {err}") from None
        if actions != meaning:
            raise UsageError(f"{path}:{number}: OUT does not match the meaning of {command!r}")
        out.append(command)
    return out


def vocabularies():
    """Every input word and every action of SCAN, for dictionaries shared by all splits."""
    words = sorted({w for c in commands() for w in c.split()})
    return words, sorted(TURNS.values()) + sorted(a for a in ACTIONS.values() if a)
