"""Tables and plots of sweeps made by tools/sweep.py, with runs grouped by every grid axis except the seed.

    python tools/report.py results/<name> [results/<other> ...] [--out DIR]

For each group (learner): how many runs have finished out of those planned (and how many failed), mean ± SD of the
valid loss and the wall time (a column that no run has, as the valid loss of runs without validation, is left
out), FPA per rule (the fraction of the group's seeds that follow the rule on every probe) and the fraction that
follow none, and the description length of each candidate (mean ± SD, in bits; where the hold-out was transmitted
in blocks of more than one example, as hierar-or-linear's 4, also divided by the block size, as FIND's Table 1d).
Prints the table as Markdown and writes ``report.md``, ``report.csv``, ``fpa.png`` (bars per learner and rule) and
``description_length.png`` (each run a point, with the mean ± SD per learner) into --out (default: the results
directory, when there is one). With FPA, one line per seed follows the table: the rule it follows, or why none;
with description lengths, one line per seed gives each candidate's, the cheapest first.
Works on a sweep that is still running or partly failed.
"""
import argparse
import csv
import io
import json
import logging
import os
import statistics
import sys

# Run as a script, Python puts tools/ on sys.path, not the repository root that `tools` and `seq_plugins` live in.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from seq_cli import OneLineArgumentParser, UsageError, command_name, console  # noqa: E402
from tools.atomic_files import save_figure, write_text  # noqa: E402
from tools.sweep import read_manifest  # noqa: E402

PROG = command_name("python tools/report.py")
METRICS = [("valid_loss", "valid loss", 3), ("wall_time_s", "wall time (s)", 1)]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def load_sweep(sweep_dir):
    """[(config, result or None, failed)] for every planned run of the sweep, in index order."""
    manifest_path = os.path.join(sweep_dir, "manifest.json")
    if not os.path.isfile(manifest_path):
        raise UsageError(f"{sweep_dir} holds no manifest.json; give a directory made by tools/sweep.py")
    runs = []
    for run in read_manifest(manifest_path, "give a directory made by tools/sweep.py")["runs"]:
        run_dir = os.path.join(sweep_dir, str(run["index"]))
        result_path = os.path.join(run_dir, "result.json")
        result = read_json(result_path) if os.path.isfile(result_path) else None
        if result is not None and result.get("fpa"):
            result["why_none"] = why_none(run_dir)
        if result is not None and result.get("description_length"):
            result["block_size"] = block_sizes(run_dir, result["description_length"])
        runs.append((run["config"], result, result is None and os.path.isfile(os.path.join(run_dir, "error.json"))))
    return runs


def why_none(run_dir):
    """Why tools.fpa aggregate found the run's seed following no rule (None when it follows one, or when no
    fpa_agreement.json of tools.sweep records seeds)."""
    path = os.path.join(run_dir, "fpa_agreement.json")
    seeds = read_json(path).get("seeds") if os.path.isfile(path) else None
    return next(iter(seeds.values()))["why_none"] if seeds else None


def block_sizes(run_dir, rules):
    """{rule: the block size its prequential run used}, from the mdl.json that tools/sweep.py keeps per candidate."""
    sizes = {}
    for rule in rules:
        path = os.path.join(run_dir, "mdl", rule, "mdl.json")
        if os.path.isfile(path):
            sizes[rule] = read_json(path)["block_size"]
    return sizes


def blocked_candidates(results):
    """{rule: its block sizes above 1}, for the candidates transmitted in blocks of several examples."""
    blocked = {}
    for result in results:
        for rule, size in (result.get("block_size") or {}).items():
            if size > 1:
                blocked.setdefault(rule, set()).add(size)
    return {rule: sorted(sizes) for rule, sizes in blocked.items()}


def axes_of(sweeps):
    """Keys other than the seed whose value differs between the planned runs, and "sweep" for several sweeps.
    Keys that differ only from one sweep to another are told by the sweep's name (FIND's learners: one per grid)."""
    def varying(configs):
        keys = dict.fromkeys(k for config in configs for k in config)
        return [k for k in keys if k != "seed" and len({json.dumps(c.get(k)) for c in configs}) > 1]

    every = varying([config for runs in sweeps.values() for config, _, _ in runs])
    if len(sweeps) == 1:
        return every
    within = {k for runs in sweeps.values() for k in varying([config for config, _, _ in runs])}
    return ["sweep"] + [k for k in every if k in within]


def group_runs(sweeps, axes):
    groups = {}
    for name, runs in sweeps.items():
        for config, result, failed in runs:
            key = tuple(name if axis == "sweep" else config.get(axis) for axis in axes)
            group = groups.setdefault(key, {"planned": 0, "failed": 0, "results": []})
            group["planned"] += 1
            group["failed"] += failed
            if result is not None:
                group["results"].append(result)
    return groups


def mean_sd(values):
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def summarize(key, group, axes, rules, candidates, blocked, prefix_length=0):
    results = group["results"]
    row = {axis: value for axis, value in zip(axes, key)}
    row.update(n=len(results), planned=group["planned"], failed=group["failed"])
    for metric, _, _ in METRICS:
        row[f"{metric}_mean"], row[f"{metric}_sd"] = mean_sd([r[metric] for r in results if r.get(metric) is not None])
    with_fpa = [r["fpa"] for r in results if r.get("fpa")]
    row["fpa_n"] = len(with_fpa)
    for rule in rules:
        row[f"fpa_{rule}"] = statistics.fmean(f.get(rule, 0.0) for f in with_fpa) if with_fpa else None
    # each run is one seed, so its FPA per rule is 0 or 1
    row["fpa_none"] = statistics.fmean(1.0 not in f.values() for f in with_fpa) if with_fpa else None
    row["seeds"] = [(r["config"].get("seed"), next((rule for rule, v in r["fpa"].items() if v == 1.0), None),
                     r.get("why_none")) for r in results if r.get("fpa")]
    lengths = [r["description_length"] for r in results if r.get("description_length")]
    row["dl_n"] = len(lengths)
    for rule in candidates:
        row[f"dl_{rule}_mean"], row[f"dl_{rule}_sd"] = mean_sd([d[rule] for d in lengths if rule in d])
    for rule in blocked:
        row[f"dl_{rule}_per_block_mean"], row[f"dl_{rule}_per_block_sd"] = mean_sd(
            [r["description_length"][rule] / r["block_size"][rule] for r in results
             if rule in (r.get("description_length") or {}) and rule in (r.get("block_size") or {})])
    row["label"] = ", ".join(f"{a}={v}" for a, v in zip(axes, key) if a != "sweep") or "all runs"
    if "sweep" in axes:  # in plots, a sweep goes by what its name adds to the others' (find-fpa-...-cnn: cnn)
        row["label"] = key[axes.index("sweep")][prefix_length:] + ("" if row["label"] == "all runs"
                                                                   else f", {row['label']}")
    row["lengths"] = lengths
    row["seed_lengths"] = [(r["config"].get("seed"), r["description_length"]) for r in results
                           if r.get("description_length")]
    return row


def fmt(mean, sd, digits):
    if mean is None:
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")


def fmt_fpa(fraction, n):
    return "–" if fraction is None else f"{fraction:.2f} ({round(fraction * n)}/{n})"


def fpa_columns(rules):
    return [*rules, "none"] if rules else []


def seed_lines(rows):
    """One line per seed with FPA: the rule it follows on every probe, or why it follows none."""
    return [f"- {row['label']}, seed {seed} -> {rule or 'none' + (f': {why}' if why else '')}"
            for row in rows for seed, rule, why in row["seeds"]]


def seed_length_lines(rows):
    """One line per seed with description lengths: each candidate's, in bits, the cheapest first."""
    return [f"- {row['label']}, seed {seed}: " + ", ".join(f"{rule} {bits:.2f}" for rule, bits in
                                                          sorted(lengths.items(), key=lambda item: item[1]))
            for row in rows for seed, lengths in row["seed_lengths"]]


def per_block_label(rule, sizes):
    return f"DL {rule} / {sizes[0]} (bits)" if len(sizes) == 1 else f"DL {rule} per block (bits)"


def markdown(rows, axes, metrics, rules, candidates, blocked):
    header = [*axes, "n", *(label for _, label, _ in metrics), *(f"FPA {r}" for r in fpa_columns(rules)),
              *(f"DL {r} (bits)" for r in candidates), *(per_block_label(r, s) for r, s in blocked.items())]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        n = f"{row['n']}/{row['planned']}" + (f" ({row['failed']} failed)" if row["failed"] else "")
        cells = [str(row[a]) for a in axes] + [n]
        cells += [fmt(row[f"{m}_mean"], row[f"{m}_sd"], digits) for m, _, digits in metrics]
        cells += [fmt_fpa(row[f"fpa_{r}"], row["fpa_n"]) for r in fpa_columns(rules)]
        # two decimals: a rule the learner already follows costs hundredths of a bit
        cells += [fmt(row[f"dl_{r}_mean"], row[f"dl_{r}_sd"], 2) for r in candidates]
        cells += [fmt(row[f"dl_{r}_per_block_mean"], row[f"dl_{r}_per_block_sd"], 2) for r in blocked]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_csv(path, rows, axes, rules, candidates, blocked):
    columns = [*axes, "n", "planned", "failed", *(f"{m}_{s}" for m, _, _ in METRICS for s in ("mean", "sd")),
               "fpa_n", *(f"fpa_{r}" for r in fpa_columns(rules)), "dl_n",
               *(f"dl_{r}_{s}" for r in candidates for s in ("mean", "sd")),
               *(f"dl_{r}_per_block_{s}" for r in blocked for s in ("mean", "sd"))]
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    write_text(path, text.getvalue())


def plot_fpa(path, rows, rules):
    import matplotlib.pyplot as plt

    rows = [row for row in rows if row["fpa_n"]]
    width = 0.8 / len(rules)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) * len(rules) / 2 + 2), 3.5))
    for k, rule in enumerate(rules):
        xs = [i + (k - (len(rules) - 1) / 2) * width for i in range(len(rows))]
        ax.bar(xs, [row[f"fpa_{rule}"] for row in rows], width, label=rule)
    ax.set_xticks(range(len(rows)), [f"{row['label']}\n(n={row['fpa_n']})" for row in rows], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("FPA (fraction of seeds)")
    ax.legend(title="rule", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def plot_lengths(path, rows, candidates):
    import matplotlib.pyplot as plt

    rows = [row for row in rows if row["dl_n"]]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.5 * len(candidates) + 2), 3.5))
    spread = 0.6 / max(1, len(rows))
    for g, row in enumerate(rows):
        offset = (g - (len(rows) - 1) / 2) * spread
        for c, rule in enumerate(candidates):
            values = [d[rule] for d in row["lengths"] if rule in d]
            if not values:
                continue
            ax.scatter([c + offset] * len(values), values, s=12, alpha=0.5, color=f"C{g}",
                       label=f"{row['label']} (n={row['dl_n']})" if c == 0 else None)
            mean, sd = mean_sd(values)
            ax.errorbar(c + offset, mean, yerr=sd or 0, fmt="D", color=f"C{g}", capsize=4, markersize=5)
    ax.set_xticks(range(len(candidates)), candidates)
    ax.set_xlabel("candidate rule")
    ax.set_ylabel("description length (bits)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def report(sweep_dirs, out):
    sweeps = {os.path.basename(os.path.normpath(d)): load_sweep(d) for d in sweep_dirs}
    if len(sweeps) < len(sweep_dirs):
        raise UsageError("two results directories have the same name; they would be one group")
    axes = axes_of(sweeps)
    groups = group_runs(sweeps, axes)
    results = [r for g in groups.values() for r in g["results"]]
    rules = list(dict.fromkeys(rule for r in results for rule in r.get("fpa") or {}))
    candidates = list(dict.fromkeys(rule for r in results for rule in r.get("description_length") or {}))
    blocked = blocked_candidates(results)
    prefix_length = os.path.commonprefix(list(sweeps)).rfind("-") + 1 if len(sweeps) > 1 else 0
    rows = [summarize(key, group, axes, rules, candidates, blocked, prefix_length) for key, group in groups.items()]
    metrics = [m for m in METRICS if any(row[f"{m[0]}_mean"] is not None for row in rows)]
    table = markdown(rows, axes, metrics, rules, candidates, blocked)
    if candidates:
        table += "\nPer seed: each candidate's description length (bits), the cheapest first\n\n" + "\n".join(
            seed_length_lines(rows)) + "\n"
    if rules:
        table += "\nPer seed: the rule it follows on every probe, or why it follows none\n\n" + "\n".join(
            seed_lines(rows)) + "\n"
    os.makedirs(out, exist_ok=True)
    written = [os.path.join(out, "report.md"), os.path.join(out, "report.csv")]
    write_text(written[0], f"# {', '.join(sweeps)}\n\n{len(results)} of {sum(g['planned'] for g in groups.values())} "
                           f"runs finished\n\n{table}")
    write_csv(written[1], rows, axes, rules, candidates, blocked)
    if rules or candidates:
        logging.getLogger("matplotlib").setLevel(logging.WARNING)  # before the import, which logs at DEBUG
        import matplotlib

        matplotlib.use("Agg")
    if rules:
        written.append(os.path.join(out, "fpa.png"))
        plot_fpa(written[-1], rows, fpa_columns(rules))
    if candidates:
        written.append(os.path.join(out, "description_length.png"))
        plot_lengths(written[-1], rows, candidates)
    print(table)
    print("wrote " + ", ".join(written))
    return rows


def main(argv=None):
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweeps", nargs="+", help="results/<name> directories of tools/sweep.py")
    parser.add_argument("--out", default=None, help="where the report goes (default: the one results directory)")
    args = parser.parse_args(argv)
    if args.out is None and len(args.sweeps) > 1:
        raise UsageError("--out is needed to report several sweeps together")
    return report(args.sweeps, args.out or args.sweeps[0])


def cli():
    """The seq-report command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
