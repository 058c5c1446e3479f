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
unless --include-train), and the per-probe agreement: the fraction of seeds that follow the rule on that probe.
"""
import argparse
import json
import os

from seq_plugins.cli import OneLineArgumentParser, UsageError, command_name, console
from tools.atomic_files import write_json, write_jsonl

PROG = command_name("python -m tools.fpa")


def dump(checkpoint, data, out, split="test", max_len=200, batch_size=1000):
    """Greedy predictions for every example of ``split`` of ``<data>/data-bin``, in file order."""
    from tools.evaluate import load_model, predict_split

    data_bin = os.path.join(data, "data-bin")
    if not os.path.isdir(data_bin):
        raise UsageError(f"--data {data} has no data-bin/")
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


def aggregate(rules, dumps, include_train=False):
    """``dumps`` maps a name (e.g. the path) to its records. Returns {"n_seeds", "probes" (the indices scored),
    "fpa": {rule: fraction}, "per_probe": {rule: [fraction per scored probe]}, "per_probe_mean": {rule: their mean,
    None when no probe is scored}}."""
    probes = rules["probes"]
    train_inputs = {src for src, _ in rules["train"]}
    scored = [i for i, src in enumerate(probes) if include_train or src not in train_inputs]
    for name, records in dumps.items():
        if [r["src"] for r in records] != probes:
            raise UsageError(f"dump {name} does not hold the probes of the rules file in order "
                             f"({len(records)} lines, {len(probes)} probes)")
    fpa, per_probe = {}, {}
    n = len(dumps)
    for rule, outputs in rules["rules"].items():
        follows = [[records[i]["pred"] == outputs[i] for i in scored] for records in dumps.values()]
        fpa[rule] = sum(all(seed) for seed in follows) / n
        per_probe[rule] = [sum(seed[k] for seed in follows) / n for k in range(len(scored))]
    per_probe_mean = {rule: sum(values) / len(values) if values else None for rule, values in per_probe.items()}
    return {"n_seeds": n, "probes": [probes[i] for i in scored], "fpa": fpa, "per_probe": per_probe,
            "per_probe_mean": per_probe_mean}


def format_report(result):
    lines = [f"FPA over {result['n_seeds']} seeds, {len(result['probes'])} probes scored "
             "(and the mean over probes of the fraction of seeds agreeing with the rule)"]
    for rule, value in result["fpa"].items():
        mean = result["per_probe_mean"][rule]
        lines.append(f"  {rule:<10} {value:.2f}   per probe {'-' if mean is None else f'{mean:.2f}'}")
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
