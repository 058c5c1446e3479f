"""FPA (fraction of perfect agreement, Kharitonov & Chaabouni 2021): greedy dumps over the probe inputs, and
their aggregation over seeds.

    python -m tools.fpa dump --checkpoint runs/x/checkpoint_last.pt --data data/find/add-or-mul/20/fpa \
        --out runs/x/fpa.jsonl
    python -m tools.fpa aggregate --rules data/find/add-or-mul/20/rules.json runs/*/fpa.jsonl [--include-train]

``dump`` writes one JSON line per probe, in the order of the probe file, with stable ids:
{"id", "src", "pred", "src_len", "pred_len"}. Unlike fairseq's default (a minimum output length of 1, which made
`count` unreachable on the empty probe in FIND), end-of-sequence may come first, so an empty output is possible.

``aggregate`` reads the candidate rules of preprocess.find and, for each rule, reports FPA = the fraction of
dumps (seeds) whose predictions follow the rule on every probe (probes that are training inputs are left out
unless --include-train), the fraction that follow none, and the per-probe agreement: the fraction of seeds that
follow the rule on that probe. Then one line per seed: the rule it follows, or why it follows none (its output for
a training input of T that it does not reproduce, else the first probe whose output is no rule's, else where it
switches rules). Rules must differ on some scored probe, so a seed follows at most one and the fractions sum to 1.
"""
import argparse
import json
import os

from seq_cli import OneLineArgumentParser, UsageError, check_input_file, command_name, console
from tools.atomic_files import write_json, write_jsonl

PROG = command_name("python -m tools.fpa")


def dump(checkpoint, data, out, split="test", max_len=200, batch_size=1000):
    """Greedy predictions for every example of ``split`` of ``<data>/data-bin``, in file order."""
    from tools.evaluate import load_model, predict_split

    data_bin = os.path.join(data, "data-bin")
    if not os.path.isdir(data_bin):
        raise UsageError(f"--data {data} has no data-bin/")
    check_input_file(checkpoint, "checkpoint")  # before load_model loads fairseq
    model, task = load_model(checkpoint, data_bin)
    by_id = {}
    for example_id, source, prediction, _target in predict_split(model, task, split, batch_size, min_len=0,
                                                                 max_len=max_len):
        pred = task.target_dictionary.string(prediction).split()
        by_id[example_id] = {"id": example_id, "src": " ".join(source), "pred": " ".join(pred),
                             "src_len": len(source), "pred_len": len(pred)}
    records = [by_id[i] for i in sorted(by_id)]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    write_jsonl(out, records)
    return records


def read_dump(path):
    try:
        with open(path) as f:
            lines = [(number, line) for number, line in enumerate(f, start=1) if line.strip()]
    except OSError as err:
        raise UsageError(f"dump {path}: {err.strerror}") from None
    if not lines:
        raise UsageError(f"dump {path} is empty")
    records = []
    for number, line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise UsageError(f"dump {path} line {number}: not JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise UsageError(f"dump {path} line {number}: not a JSON object; make dumps with `{PROG} dump`")
        for key in ("src", "pred"):  # what aggregate compares
            if not isinstance(record.get(key), str):
                raise UsageError(f"dump {path} line {number}: no string {key!r}; make dumps with `{PROG} dump`")
        records.append(record)
    return records


def read_rules(path):
    try:
        with open(path) as f:
            rules = json.load(f)
    except OSError as err:
        raise UsageError(f"rules {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"rules {path}: not valid JSON at line {err.lineno}: {err.msg}") from None
    for key in ("probes", "rules", "train"):
        if key not in rules:
            raise UsageError(f"rules {path} has no key {key!r}; make it with preprocess.find")
    return rules


def compact(symbols, limit=40):
    """``a a a b`` -> ``a^3 b``; long outputs are cut, with their length."""
    words = symbols.split()
    if not words:
        return "(empty)"
    runs = []
    for word in words:
        if runs and runs[-1][0] == word:
            runs[-1][1] += 1
        else:
            runs.append([word, 1])
    text = " ".join(word if n == 1 else f"{word}^{n}" for word, n in runs)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(words)} symbols)"


def why_none(rules, preds, scored):
    """Why a seed whose predictions (one per probe) follow no rule follows none, in a few words."""
    probes = rules["probes"]
    for src, tgt in rules["train"]:
        if src in probes and preds[probes.index(src)] != tgt:
            return f"output {compact(preds[probes.index(src)])} for T's {compact(src)} (T: {compact(tgt)})"
    agree = {i: [rule for rule, outputs in rules["rules"].items() if outputs[i] == preds[i]] for i in scored}
    for i in scored:
        if not agree[i]:
            return f"probe {compact(probes[i])} -> {compact(preds[i])}, no rule's output"
    fitting = set(rules["rules"])
    for previous, i in zip([None] + scored, scored):
        if not fitting & set(agree[i]):
            return (f"follows {', '.join(r for r in rules['rules'] if r in fitting)} up to probe "
                    f"{compact(probes[previous])}, then {compact(probes[i])} -> {compact(preds[i])} "
                    f"({', '.join(agree[i])})")
        fitting &= set(agree[i])


def aggregate(rules, dumps, include_train=False):
    """``dumps`` maps a name (e.g. the path) to its records. Returns {"n_seeds", "probes" (the indices scored),
    "fpa": {rule: fraction}, "none": the fraction of seeds following no rule, "per_probe": {rule: [fraction per
    scored probe]}, "per_probe_mean": {rule: their mean}, "seeds": {name: {"rule": the rule it follows or None,
    "why_none": why_none's words or None}}}."""
    probes = rules["probes"]
    train_inputs = {src for src, _ in rules["train"]}
    scored = [i for i, src in enumerate(probes) if include_train or src not in train_inputs]
    if not scored:
        raise UsageError("no probe left to score: every probe is a training input (--include-train scores them)")
    names = list(rules["rules"])
    for k, first in enumerate(names):
        for second in names[k + 1:]:
            if all(rules["rules"][first][i] == rules["rules"][second][i] for i in scored):
                raise UsageError(f"rules {first!r} and {second!r} give the same output on every scored probe; "
                                 "FPA cannot tell them apart")
    for name, records in dumps.items():
        if [r["src"] for r in records] != probes:
            raise UsageError(f"dump {name} does not hold the probes of the rules file in order "
                             f"({len(records)} lines, {len(probes)} probes)")
    n = len(dumps)
    follows = {rule: {name: [records[i]["pred"] == outputs[i] for i in scored] for name, records in dumps.items()}
               for rule, outputs in rules["rules"].items()}
    seeds = {}
    for name, records in dumps.items():
        rule = next((rule for rule in names if all(follows[rule][name])), None)  # at most one: they differ
        seeds[name] = {"rule": rule, "why_none": None if rule else why_none(rules, [r["pred"] for r in records],
                                                                            scored)}
    fpa = {rule: sum(all(seed) for seed in follows[rule].values()) / n for rule in names}
    per_probe = {rule: [sum(seed[k] for seed in follows[rule].values()) / n for k in range(len(scored))]
                 for rule in names}
    return {"n_seeds": n, "probes": [probes[i] for i in scored], "fpa": fpa,
            "none": sum(seed["rule"] is None for seed in seeds.values()) / n, "per_probe": per_probe,
            "per_probe_mean": {rule: sum(values) / len(values) for rule, values in per_probe.items()},
            "seeds": seeds}


def format_report(result):
    lines = [f"FPA over {result['n_seeds']} seeds, {len(result['probes'])} probes scored "
             "(and the mean over probes of the fraction of seeds agreeing with the rule)"]
    for rule, value in result["fpa"].items():
        lines.append(f"  {rule:<10} {value:.2f}   per probe {result['per_probe_mean'][rule]:.2f}")
    lines.append(f"  {'none':<10} {result['none']:.2f}")
    lines.append("per seed:")
    lines += [f"  {name} -> " + (seed["rule"] or f"none: {seed['why_none']}") for name, seed in result["seeds"].items()]
    return "\n".join(lines)


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineArgumentParser)
    d = commands.add_parser("dump", help="greedy predictions over the probes, one JSON line each")
    d.add_argument("--checkpoint", required=True)
    d.add_argument("--data", required=True, help="an fpa data set of preprocess.find (holds data-bin/)")
    d.add_argument("--split", default="test")
    d.add_argument("--out", required=True)
    d.add_argument("--max-len", type=int, default=200, help="longest prediction (symbols)")
    a = commands.add_parser("aggregate", help="FPA per rule over several dumps (seeds)")
    a.add_argument("--rules", required=True, help="rules.json of preprocess.find")
    a.add_argument("dumps", nargs="+")
    a.add_argument("--include-train", action="store_true", help="also score probes that are training inputs")
    a.add_argument("--json", default=None, help="also write the result here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "dump":
        records = dump(args.checkpoint, args.data, args.out, args.split, args.max_len)
        print(f"wrote {len(records)} predictions to {args.out}")
        return records
    result = aggregate(read_rules(args.rules), {path: read_dump(path) for path in args.dumps}, args.include_train)
    print(format_report(result))
    if args.json:
        write_json(args.json, result)
    return result


def cli():
    """The seq-fpa command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
