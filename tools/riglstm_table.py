"""Tables of docs/results/riglstm.md from the runs of tools/reproduce_riglstm.sh:

    python -m tools.riglstm_table runs/riglstm

Reads <runs>/<task>/<model>/train.log (fairseq-train) and test.log (fairseq-validate on the test splits) and prints
one markdown table per task; missing runs are listed as not run. Scores are (ce, acc, seq_acc), or (ce, frame_bce,
frame_sqerr) for bouncing balls.
"""
import os
import re

from seq_cli import OneLineArgumentParser, UsageError, command_name, console

PROG = command_name("python -m tools.riglstm_table")

METRICS = re.compile(r"valid on '(\w+)' subset \| loss \S+ \| ce (\S+) \| (?:acc|frame_bce) (\S+) \| "
                     r"(?:seq_acc|frame_sqerr) (\S+)")
UPDATES = re.compile(r"\| train \| epoch (\d+) .*\| num_updates (\d+)")
# training and test conditions, from the configuration fairseq-train logs first
CONDITION = re.compile(r"'(dormant|test_dormant|train_resolution|train_balls)': (\d+)")


def read_run(path):
    """{'updates', 'epochs', 'valid': [(ce, acc, seq_acc) per epoch], 'test': {split: (ce, acc, seq_acc)},
    'log': path of train.log, 'condition': {'dormant': 50, ...}}"""
    run = {"valid": [], "test": {}, "log": os.path.join(path, "train.log"), "condition": {}}
    with open(run["log"]) as f:
        for line in f:
            for key, value in CONDITION.findall(line):
                run["condition"].setdefault(key, int(value))
            match = METRICS.search(line)
            if match and match.group(1) == "valid":
                run["valid"].append(tuple(float(x) for x in match.groups()[1:]))
            match = UPDATES.search(line)
            if match:
                run["epochs"], run["updates"] = int(match.group(1)), int(match.group(2))
    test_log = os.path.join(path, "test.log")
    if os.path.exists(test_log):
        with open(test_log) as f:
            for match in METRICS.finditer(f.read()):
                run["test"][match.group(1)] = tuple(float(x) for x in match.groups()[1:])
    return run


def condition(runs, key):
    """The value of ``key`` shared by all runs' configurations; a table must not mix training conditions."""
    values = {}
    for name, run in runs:
        if key not in run["condition"]:
            raise UsageError(f"{run['log']}: the logged configuration has no {key}")
        values.setdefault(run["condition"][key], []).append(name)
    if len(values) > 1:
        raise UsageError(f"runs differ in {key}: " + "; ".join(f"{v} in {', '.join(n)}" for v, n in values.items()))
    return next(iter(values))


def copying_table(runs):
    train, test = condition(runs, "dormant"), condition(runs, "test_dormant")
    lines = [f"| model | updates | valid CE, T = {train} (best) | test CE, T = {test} | "
             f"test copied-part exact, T = {test} |",
             "|---|---|---|---|---|"]
    for name, run in runs:
        test = run["test"].get("test")
        best = min(v[0] for v in run["valid"]) if run["valid"] else None
        lines.append(f"| {name} | {run.get('updates', '-')} | {_fmt(best)} | {_fmt(test and test[0])} | "
                     f"{_fmt(test and test[2])} |")
    return lines


def bouncing_balls_table(runs):
    splits = sorted({s for _, run in runs for s in run["test"]}, key=lambda s: int(s[4:]))
    lines = [f"| model | updates | valid BCE per frame, {condition(runs, 'train_balls')} balls (best) | "
             + " | ".join(f"test BCE / sq. error per frame, {s[4:]} balls" for s in splits) + " |",
             "|---" * (3 + len(splits)) + "|"]
    for name, run in runs:
        best = min(v[1] for v in run["valid"]) if run["valid"] else None
        cells = [f"{_fmt(run['test'][s][1])} / {_fmt(run['test'][s][2])}" if s in run["test"] else "-"
                 for s in splits]
        lines.append(f"| {name} | {run.get('updates', '-')} | {_fmt(best)} | " + " | ".join(cells) + " |")
    return lines


def mnist_table(runs):
    splits = sorted({s for _, run in runs for s in run["test"]}, key=lambda s: int(s[4:]))
    size = condition(runs, "train_resolution")
    lines = [f"| model | updates | valid acc, {size}x{size} (best) | " + " | ".join(f"test acc {s[4:]}x{s[4:]}" for s in splits)
             + " |", "|---" * (3 + len(splits)) + "|"]
    for name, run in runs:
        best = max(v[1] for v in run["valid"]) if run["valid"] else None
        cells = [_fmt(run["test"][s][1] if s in run["test"] else None) for s in splits]
        lines.append(f"| {name} | {run.get('updates', '-')} | {_fmt(best)} | " + " | ".join(cells) + " |")
    return lines


def _fmt(value):
    return "-" if value is None else f"{value:.4f}"


def main(argv=None):
    parser = OneLineArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("runs")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.runs):
        raise UsageError(f"no directory {args.runs}")
    for task, make_table in (("copying", copying_table), ("seq_mnist", mnist_table),
                             ("bouncing_balls", bouncing_balls_table)):
        task_dir = os.path.join(args.runs, task)
        names = sorted(os.listdir(task_dir)) if os.path.isdir(task_dir) else []
        done = [(n, read_run(os.path.join(task_dir, n))) for n in names
                if os.path.exists(os.path.join(task_dir, n, "test.log"))]
        print(f"\n{task}\n")
        print("\n".join(make_table(done)) if done else "(no finished run)")
        unfinished = [n for n in names if n not in dict(done)]
        if unfinished:
            print(f"\nnot finished: {', '.join(unfinished)}")


def cli():
    """The seq-riglstm-table command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
