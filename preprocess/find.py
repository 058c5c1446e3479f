"""Data of Kharitonov & Chaabouni (ICLR 2021), "What they do when in doubt": FIND's four tasks.

    python -m preprocess.find --task add-or-mul --sizes 20 --out data/find

A learner is trained on a tiny set T that several candidate rules explain equally well; its greedy outputs on the
probe inputs (FPA) and the description length of each rule's labelling of the hold-out (MDL) tell which rule it
prefers. For each task and size, ``<out>/<task>/<size>/`` holds (written atomically, with config.json):

  rules.json        {"task", "size", "train": [[src, tgt], ...] (T), "probes", "rules": {rule: outputs per probe},
                    "holdout", "mdl_train_examples" (= len(T)), "block_size"}
  fpa/              train = valid = T; test = the probes (targets: the first rule's outputs, only so that the
                    split is well formed; FPA compares predictions with rules.json)
  <rule>/           one per candidate rule: train = T, then the hold-out (probes that are not T's inputs, in probe
                    order) labelled by the rule; valid = T

Each data set has ``data/<split>.{src,tgt}`` (space-separated symbols, one example a line, an empty input is an
empty line) and ``data-bin/``. All data sets of a task and size share their dictionaries, so a checkpoint trained
on a candidate data set reads the probes of fpa/; like FIND's (made by fairseq-preprocess's default), they are
padded with never-seen symbols to a multiple of 8. On T's inputs every candidate gives T's output.

Tasks (sizes default to FIND's):
  count-or-mem      T: a^L -> b^L (L: 10,20,30,40); probes a^m, m = L-span .. L+span (span 10, m >= 0);
                    mem: b^L, count: b^m
  add-or-mul        T: a^L -> b^2L (L: 5,10,15,20); probes m = L-span .. L+span (span 3, m >= 0);
                    mem: b^2L, add: b^(m+L), mul: b^2m
  hierar-or-linear  T: w^d c w^d -> c for c, w in {a, b} (size = training depth d: 4); probes: the same four
                    inputs at every --probe-depths (2-6); hierar: c, linear: the symbol at index d.
                    Hold-outs are transmitted 4 at a time (block_size 4).
  comp-or-mem       T: N primitives a -> A, b -> B, ... and F a -> A A A (N: 5,10,20); probes x and F x for every
                    primitive x; mem_func: F x -> A A A, mem_prim: F x -> X, compo: F x -> X X X
Generation is deterministic; --seed is only recorded.
"""
import argparse
import json
import os
import string

from preprocess.dataset_dir import atomic_dataset_dir, holds_same_dataset
from preprocess.memory_bound import check_fits, pairs_bytes
from seq_cli import OneLineArgumentParser, UsageError, command_name, console, parse_int_ranges

PROG = command_name("python -m preprocess.find")
TASKS = ("count-or-mem", "add-or-mul", "hierar-or-linear", "comp-or-mem")
DEFAULT_SIZES = {"count-or-mem": "10,20,30,40", "add-or-mul": "5,10,15,20", "hierar-or-linear": "4",
                 "comp-or-mem": "5,10,20"}
DEFAULT_SPAN = {"count-or-mem": 10, "add-or-mul": 3}
DEFAULT_PROBE_DEPTHS = "2-6"
# fairseq-preprocess's default, which FIND's generators ran with: the padding symbols are output logits too
PADDING_FACTOR = 8
RULES_FILE = "rules.json"


def _repeat(symbol, n):
    return " ".join([symbol] * n)


def _span_probes(size, span):
    return [_repeat("a", m) for m in range(max(0, size - span), size + span + 1)]


def count_or_mem(size, span):
    probes = _span_probes(size, span)
    rules = {"mem": lambda src: _repeat("b", size),
             "count": lambda src: _repeat("b", len(src.split()))}
    return [(_repeat("a", size), _repeat("b", size))], probes, rules


def add_or_mul(size, span):
    probes = _span_probes(size, span)
    rules = {"mem": lambda src: _repeat("b", 2 * size),
             "add": lambda src: _repeat("b", len(src.split()) + size),
             "mul": lambda src: _repeat("b", 2 * len(src.split()))}
    return [(_repeat("a", size), _repeat("b", 2 * size))], probes, rules


def _hierarchical_inputs(depth):
    # FIND's order: the central symbol c varies slowest
    return [" ".join([w] * depth + [c] + [w] * depth) for c in "ab" for w in "ab"]


def hierar_or_linear(depth, probe_depths):
    train = [(src, src.split()[depth]) for src in _hierarchical_inputs(depth)]
    probes = [src for d in probe_depths for src in _hierarchical_inputs(d)]
    rules = {"hierar": lambda src: src.split()[len(src.split()) // 2],
             "linear": lambda src: src.split()[depth]}
    return train, probes, rules


def comp_or_mem(n):
    primitives = string.ascii_lowercase[:n]
    train = [(x, x.upper()) for x in primitives] + [("F a", "A A A")]
    probes = [src for x in primitives for src in (x, f"F {x}")]

    def rule(function_output):
        return lambda src: src.upper() if len(src.split()) == 1 else function_output(src.split()[1].upper())

    rules = {"mem_func": rule(lambda x: "A A A"), "mem_prim": rule(lambda x: x), "compo": rule(lambda x: _repeat(x, 3))}
    return train, probes, rules


def make_task(cfg):
    """rules.json's content for one task and size."""
    task, size = cfg["task"], cfg["size"]
    if task == "count-or-mem":
        train, probes, rules = count_or_mem(size, cfg["span"])
    elif task == "add-or-mul":
        train, probes, rules = add_or_mul(size, cfg["span"])
    elif task == "hierar-or-linear":
        train, probes, rules = hierar_or_linear(size, cfg["probe_depths"])
    else:
        train, probes, rules = comp_or_mem(size)
    train_outputs = dict(train)
    return {
        "task": task, "size": size, "train": [list(pair) for pair in train], "probes": probes,
        "rules": {name: [train_outputs.get(src, rule(src)) for src in probes] for name, rule in rules.items()},
        "holdout": [src for src in probes if src not in train_outputs],
        "mdl_train_examples": len(train), "block_size": 4 if task == "hierar-or-linear" else 1,
    }


def datasets_of(spec):
    """{data set: {split: (src lines, tgt lines)}}: fpa first, then one per candidate rule."""
    t_src, t_tgt = [s for s, _ in spec["train"]], [t for _, t in spec["train"]]
    first_rule = next(iter(spec["rules"].values()))
    datasets = {"fpa": {"train": (t_src, t_tgt), "valid": (t_src, t_tgt), "test": (spec["probes"], first_rule)}}
    for name, outputs in spec["rules"].items():
        by_probe = dict(zip(spec["probes"], outputs))
        datasets[name] = {"train": (t_src + spec["holdout"], t_tgt + [by_probe[src] for src in spec["holdout"]]),
                          "valid": (t_src, t_tgt)}
    return datasets


def write_task(cfg, out):
    """Write one task and size: rules.json, every data set's raw text and data-bin, config.json; atomically."""
    from preprocess.binarize import SOURCE_LANG, TARGET_LANG, binarize, build_dictionary  # slow fairseq import

    spec = make_task(cfg)
    datasets = datasets_of(spec)
    dictionaries = {lang: build_dictionary((line for splits in datasets.values() for pair in splits.values()
                                            for line in pair[side]), cfg["padding_factor"])
                    for side, lang in enumerate((SOURCE_LANG, TARGET_LANG))}
    with atomic_dataset_dir(cfg, out) as tmp:
        with open(os.path.join(tmp, RULES_FILE), "w") as f:
            json.dump(spec, f, indent=1)
        for name, splits in datasets.items():
            os.makedirs(os.path.join(tmp, name, "data"))
            for split, pair in splits.items():
                for lang, lines in zip((SOURCE_LANG, TARGET_LANG), pair):
                    with open(os.path.join(tmp, name, "data", f"{split}.{lang}"), "w") as f:
                        f.write("".join(line + "\n" for line in lines))
            binarize(splits, os.path.join(tmp, name, "data-bin"), dictionaries)
    return spec


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="all", choices=[*TASKS, "all"], help="default: all four")
    parser.add_argument("--sizes", default=None,
                        help="comma list (ranges allowed) of L, N or the training depth; needs one --task")
    parser.add_argument("--span", type=int, default=None,
                        help="count-or-mem / add-or-mul: probes reach L-span .. L+span (default 10 / 3, as in FIND)")
    parser.add_argument("--probe-depths", default=None,
                        help=f"hierar-or-linear: depths of the probes (default {DEFAULT_PROBE_DEPTHS})")
    parser.add_argument("--out", default=os.path.join("data", "find"), help="root directory (default data/find)")
    parser.add_argument("--seed", type=int, default=0, help="recorded in config.json; generation is deterministic")
    return parser


def span_task_bytes(size, span):
    """An upper bound on the memory that generating count-or-mem or add-or-mul takes (preprocess.memory_bound):
    probes a^m up to m = size + span, and the rules' outputs (at most 3 rules, at most twice the longest probe)."""
    longest = size + span
    probes = longest - max(0, size - span) + 1
    return pairs_bytes(4 * probes, probes * longest * (1 + 3 * 2))


def configs_from_args(args):
    """One config per task and size, every option checked before anything is written."""
    tasks = TASKS if args.task == "all" else (args.task,)
    if args.sizes is not None and args.task == "all":
        raise UsageError("--sizes needs one --task: the sizes of each task mean something else")
    if args.span is not None and args.task not in DEFAULT_SPAN:
        raise UsageError(f"--span applies to --task count-or-mem or add-or-mul, not {args.task}")
    if args.probe_depths is not None and args.task not in ("hierar-or-linear", "all"):
        raise UsageError(f"--probe-depths applies to --task hierar-or-linear, not {args.task}")
    if args.span is not None and args.span < 1:
        raise UsageError(f"--span must be at least 1 so that something is held out, got {args.span}")
    probe_depths = parse_int_ranges(args.probe_depths or DEFAULT_PROBE_DEPTHS, "--probe-depths")
    configs = []
    for task in tasks:
        for size in parse_int_ranges(args.sizes or DEFAULT_SIZES[task], "--sizes"):
            cfg = {"task": task, "size": size, "seed": args.seed, "padding_factor": PADDING_FACTOR}
            if task in DEFAULT_SPAN:
                cfg["span"] = DEFAULT_SPAN[task] if args.span is None else args.span
                check_fits({f"--sizes {size} with --span {cfg['span']}": span_task_bytes(size, cfg["span"])})
            elif task == "hierar-or-linear":
                too_short = [d for d in probe_depths if 2 * d + 1 <= size]
                if too_short:
                    raise UsageError(f"--probe-depths {too_short}: inputs of {2 * too_short[0] + 1} symbols have no "
                                     f"symbol at index {size}, the linear rule of training depth {size}")
                if set(probe_depths) == {size}:
                    raise UsageError(f"--probe-depths: only the training depth {size}, nothing would be held out")
                cfg["probe_depths"] = probe_depths
                # four probes of 2d + 1 symbols per depth, each rule's outputs one symbol
                check_fits({f"--probe-depths {args.probe_depths or DEFAULT_PROBE_DEPTHS}":
                            pairs_bytes(3 * 4 * len(probe_depths), sum(4 * (2 * d + 3) for d in probe_depths))})
            elif not 2 <= size <= len(string.ascii_lowercase):
                raise UsageError(f"--sizes {size}: comp-or-mem needs 2 to 26 primitives (one is in T, the others "
                                 f"are held out)")
            configs.append(cfg)
    return configs


def main(argv=None):
    args = build_parser().parse_args(argv)
    configs = configs_from_args(args)
    pending = []
    for cfg in configs:
        out = os.path.join(args.out, cfg["task"], str(cfg["size"]))
        if holds_same_dataset(cfg, out):
            print(f"{out} already holds this data set; nothing to do")
        else:
            pending.append((cfg, out))
    for cfg, out in pending:
        spec = write_task(cfg, out)
        print(f"wrote {cfg['task']} {cfg['size']} to {out}: T {len(spec['train'])}, probes {len(spec['probes'])}, "
              f"hold-out {len(spec['holdout'])}, data sets fpa {' '.join(spec['rules'])}")


def cli():
    """The seq-find-data command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
