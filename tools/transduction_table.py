"""Tables and plots over finished transduction runs laid out as ``<root>/<task>/<run>/{run.json,eval.jsonl}``.

    python -m tools.transduction_table runs/transductions

Prints (and writes to ``<root>/table.md``) one Markdown table per task: full-sequence accuracy in distribution
(test) and out of distribution (shorter, longer, all), the longest length each model still gets half right, and
the command of each run; draws ``<root>/<task>/accuracy.png`` with every model of the task.
"""
import glob
import json
import os
from collections import defaultdict

from seq_cli import OneLineArgumentParser, UsageError, command_name, console
from tools.evaluate import ID_SPLIT, plot_accuracy

PROG = command_name("python -m tools.transduction_table")


def load_runs(root):
    """{task: {run name: (run record, eval rows)}} for every run that has an eval.jsonl."""
    runs = defaultdict(dict)
    for eval_path in sorted(glob.glob(os.path.join(root, "*", "*", "eval.jsonl"))):
        run_dir = os.path.dirname(eval_path)
        with open(os.path.join(run_dir, "run.json")) as f:
            record = json.load(f)
        with open(eval_path) as f:
            rows = [json.loads(line) for line in f]
        runs[os.path.basename(os.path.dirname(run_dir))][os.path.basename(run_dir)] = (record, rows)
    return runs


def mean_accuracy(rows, keep):
    chosen = [r for r in rows if keep(r)]
    n = sum(r["n"] for r in chosen)
    return sum(r["full_seq_acc"] * r["n"] for r in chosen) / n if n else float("nan")


def task_table(task_runs, id_lengths):
    low, high = min(id_lengths), max(id_lengths)
    lines = ["| model | ID test | OOD all | OOD shorter (<{low}) | OOD longer (>{high}) | longest length ≥ 0.5 |"
             .format(low=low, high=high), "|---|---|---|---|---|---|"]
    for name, (record, rows) in sorted(task_runs.items()):
        ood = [r for r in rows if r["split"] == "ood"]
        shown = [r for r in rows if r["split"] in (ID_SPLIT, "ood")]
        # per length over all its rows: input-specified reduplication has one row per number of @
        half_right = [length for length in {r["length"] for r in shown}
                      if mean_accuracy(shown, lambda r: r["length"] == length) >= 0.5]
        cells = [mean_accuracy(rows, lambda r: r["split"] == ID_SPLIT), mean_accuracy(ood, lambda r: True),
                 mean_accuracy(ood, lambda r: r["length"] < low), mean_accuracy(ood, lambda r: r["length"] > high)]
        lines.append(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells)
                     + f" | {max(half_right) if half_right else '-'} |")
    return "\n".join(lines)


def _relative(argument):
    """Absolute paths inside the working directory (the --user-dir) are shown relative, as a reader types them."""
    if os.path.isabs(argument) and not os.path.relpath(argument).startswith(".."):
        return os.path.relpath(argument)
    return argument


def build_report(root):
    runs = load_runs(root)
    if not runs:
        raise UsageError(f"{root} holds no finished runs (<task>/<run>/eval.jsonl)")
    sections = []
    for task, task_runs in sorted(runs.items()):
        data_dir = next(iter(task_runs.values()))[0]["data"]
        with open(os.path.join(data_dir, "config.json")) as f:
            id_lengths = json.load(f)["id_lengths"]
        png = os.path.join(root, task, "accuracy.png")
        plot_accuracy({name: rows for name, (_, rows) in sorted(task_runs.items())}, png, id_lengths, title=task)
        commands = "\n".join(f"    {name}: " + " ".join(map(_relative, record["train_command"][1:]))
                             for name, (record, _) in sorted(task_runs.items()))
        sections.append(f"### {task}\n\nFull-sequence accuracy (greedy), plot: `{png}`\n\n"
                        f"{task_table(task_runs, id_lengths)}\n\nTraining commands (fairseq-train ...):\n\n{commands}\n")
    return "\n".join(sections)


def main(argv=None):
    parser = OneLineArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("root", help="directory of <task>/<run>/ run directories")
    args = parser.parse_args(argv)
    report = build_report(args.root)
    with open(os.path.join(args.root, "table.md"), "w") as f:
        f.write(report)
    print(report)


def cli():
    """The seq-transduction-table command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
