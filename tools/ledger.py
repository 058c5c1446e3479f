"""The claims ledger: every headline claim of the five papers (tools/claims.py) beside what was measured here.

    python -m tools.ledger                 # writes docs/results/README.md from the result files under docs/results
    python -m tools.ledger --check         # exit 1 when the page differs from what the result files give

Built only from committed files: result files of finished runs (tools/result_files.py), the FIND sweep reports
of ``tools/reproduce_find.sh report`` and tools.compare_original's compare.json. A file that is truncated, has an
unknown key or belongs to another cell stops the build with one line naming it (exit 2), and the page is not
rewritten. The page has no date or machine in it, so a rebuild from the same files gives the same bytes.
"""
import csv
import json
import os
import re
import statistics

from seq_cli import OneLineArgumentParser, UsageError, command_name, console, parse_int_ranges
from tools.atomic_files import write_text
from tools.claims import CLAIMS, FindDL, FindFPA, Lookup, MetaCell, MetaComparison, Unrun
from tools.result_files import RESULTS, ROOT, read_cell

PROG = command_name("python -m tools.ledger")
PAGE = "README.md"
LAKE_EPISODES = 10_000
# a mean within TOLERANCE_SDS standard deviations (the paper's or ours, the larger) of the paper's, and never
# closer than MIN_TOLERANCE points, counts as within the paper's spread
TOLERANCE_SDS, MIN_TOLERANCE = 2.0, 1.0
SEED_LINE = re.compile(r"^- (.+), seed (\d+): (.+)$")
FPA_SEED_LINE = re.compile(r"^- (.+), seed (\d+) -> (\w+)")
FPA_SEEDS = "1-16"  # the FPA sweeps whose seeds the description lengths are set beside


def rel(path):
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def mean_sd(values):
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def fmt_mean_sd(values, digits=2):
    mean, sd = mean_sd(values)
    return f"{mean:.{digits}f} %" + (f" ± {sd:.{digits}f}" if sd is not None else "") + f" (n = {len(values)})"


def within(paper_mean, paper_sd, ours):
    mean, sd = mean_sd(ours)
    tolerance = max(MIN_TOLERANCE, TOLERANCE_SDS * max(paper_sd or 0.0, sd or 0.0))
    return abs(mean - paper_mean) <= tolerance


def meta_cell(claim, results):
    from tools.meta_seq2seq_run import CELLS

    source, cell = claim.source, CELLS[claim.source.cell]
    records = read_cell("meta_seq2seq", source.cell, results)
    for record in records:
        if record["config"].get("episodes") != LAKE_EPISODES or record["config"].get("flags") != list(cell.flags):
            raise UsageError(f"{rel(os.path.join(results, 'meta_seq2seq', 'runs', source.cell))}/seed"
                             f"{record['seed']}.json: trained {record['config'].get('episodes')} episodes with flags "
                             f"{record['config'].get('flags')}, not the cell's {LAKE_EPISODES} with {list(cell.flags)}")
    ours = [r["metrics"]["test_accuracy"] for r in records]
    original = []
    if source.original:
        original = [r["metrics"]["test_accuracy"] for r in read_cell("meta_seq2seq_original", source.original,
                                                                     results)]
    command = f"python -m tools.meta_seq2seq_run cell {source.cell} SEED"
    missing = cell.seeds - len(ours)
    cpu = [r["cpu_s"] for r in records] or [r["cpu_s"] for name, other in CELLS.items() if
                                            other.episode_type == cell.episode_type for r in
                                            read_cell("meta_seq2seq", name, results)]
    cost = (f"{missing} seed{'s' * (missing > 1)} left, about {missing * statistics.fmean(cpu) / 3600:.1f} CPU-h "
            f"(measured {statistics.fmean(cpu) / 60:.0f} CPU-min per run)" if missing > 0 and cpu else
            f"{missing} seeds left; no run of this episode type has finished yet" if missing > 0 else "")
    if not ours:
        verdict = "not yet run"
    else:
        verdict = ("within the paper's spread" if within(cell.paper_mean, cell.paper_sd, ours) else "differs")
        if missing > 0:
            verdict += f" ({len(ours)} of {cell.seeds} seeds)"
    return {"ours": fmt_mean_sd(ours) if ours else "–", "original": fmt_mean_sd(original) if original else "–",
            "verdict": verdict, "command": command, "cost": cost,
            "seeds": ", ".join(f"{r['seed']}: {r['metrics']['test_accuracy']:.2f}" for r in records)}


def meta_comparison(claim, results):
    path = os.path.join(results, claim.source.path)
    command = f"python -m tools.compare_original meta_seq2seq --original PATH --seeds 1-5 --out DIR ({rel(path)})"
    if not os.path.exists(path):
        return {"ours": "–", "original": "–", "verdict": "not yet run", "command": command, "cost": "", "seeds": ""}
    try:
        with open(path) as f:
            record = json.load(f)
        runs = record["runs"]
        ours = [runs["ours"][s]["final"]["generalization"] for s in sorted(runs["ours"], key=int)]
        original = [runs["original"][s]["final"]["generalization"] for s in sorted(runs["original"], key=int)]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"{rel(path)}: not a whole compare.json of tools.compare_original ({err!r})") from None
    if record.get("episodes") != LAKE_EPISODES:
        raise UsageError(f"{rel(path)}: trained {record.get('episodes')} episodes, not {LAKE_EPISODES}")
    verdict = "within the paper's spread" if within(100.0, None, ours) else "differs"
    return {"ours": fmt_mean_sd(ours), "original": fmt_mean_sd(original), "verdict": verdict, "command": command,
            "cost": "", "seeds": ", ".join(f"{v:.0f}" for v in ours)}


def find_report(task, kind, seeds, results):
    folder = os.path.join(results, "find", f"{task}-{kind}-seeds{seeds}")
    return folder if os.path.isdir(folder) else None


def find_fpa(claim, results):
    source = claim.source
    folder = find_report(source.task, "fpa", source.seeds, results)
    command = (f"SEEDS={source.seeds} TASKS={source.task.rsplit('-', 1)[0]}/{source.task.rsplit('-', 1)[1]} "
               f"LEARNERS={source.learner} bash tools/reproduce_find.sh fpa report")
    if folder is None:
        return {"ours": "–", "verdict": "not yet run", "command": command, "cost": "", "original": "–", "seeds": ""}
    path = os.path.join(folder, "report.csv")
    suffix = f"-{source.learner}-seeds{source.seeds}"
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("sweep", "").endswith(suffix)]
        row = rows[0]
        n = int(row["fpa_n"])
        fractions = {rule: float(row[f"fpa_{rule}"]) for rule in (source.preferred, *source.over, "none")}
    except (OSError, ValueError, KeyError, IndexError) as err:
        raise UsageError(f"{rel(path)}: no FPA row of a sweep ending in {suffix} ({err!r})") from None
    ours = ", ".join(f"{rule} {round(v * n)}/{n}" for rule, v in fractions.items())
    agrees = all(fractions[source.preferred] > fractions[rule] for rule in source.over)
    return {"ours": ours, "verdict": "agrees" if agrees else "differs", "command": f"{command} ({rel(folder)})",
            "cost": "", "original": "–", "seeds": ""}


def seed_lengths(path, learner):
    """{seed: {rule: bits}} from a report.md's per-seed lines of ``learner``'s sweep."""
    with open(path) as f:
        text = f.read()
    title = text.splitlines()[0] if text else ""
    lengths = {}
    for line in text.splitlines():
        match = SEED_LINE.match(line)
        if not match:
            continue
        label, seed, rest = match.groups()
        if not of_learner(label, title, learner):
            continue
        rules = dict(part.rsplit(" ", 1) for part in rest.split(", "))
        lengths[int(seed)] = {rule: float(bits) for rule, bits in rules.items()}
    return lengths


def find_dl(claim, results):
    source = claim.source
    folder = find_report(source.task, "mdl", source.seeds, results)
    command = source.command or (f"SEEDS={source.seeds} TASKS={source.task.rsplit('-', 1)[0]}/"
                                 f"{source.task.rsplit('-', 1)[1]} LEARNERS={source.learner} "
                                 f"bash tools/reproduce_find.sh mdl report")
    lengths = {}
    if folder is not None:
        path = os.path.join(folder, "report.md")
        try:
            lengths = seed_lengths(path, source.learner)
        except (OSError, ValueError) as err:
            raise UsageError(f"{rel(path)}: unreadable per-seed description lengths ({err!r})") from None
    if not lengths:
        return {"ours": "–", "verdict": "not yet run", "command": command, "cost": source.cost, "original": "–",
                "seeds": ""}
    cheapest = {seed: min(rules, key=rules.get) for seed, rules in lengths.items()}
    n = len(cheapest)
    fpa = seed_rules(source.task, source.learner, results)
    wanted = len(parse_int_ranges(source.seeds, "seeds"))
    counts = {rule: sum(c == rule for c in cheapest.values()) for rule in (source.preferred, *source.over)}
    ours = "cheapest: " + ", ".join(f"{rule} {k}/{n}" for rule, k in counts.items())
    # the paper's measure compares the preferred rule with each alternative: cheaper in most seeds
    beats = all(sum(rules[source.preferred] < rules[rule] for rules in lengths.values()) > n / 2
                for rule in source.over)
    verdict = ("agrees" if beats else "differs") + (f" ({n} of {wanted} seeds)" if n < wanted else "")
    return {"ours": ours, "verdict": verdict, "command": f"{command} ({rel(folder)})",
            "cost": seeds_left_cost(folder, f"-{source.learner}-seeds{source.seeds}", wanted - n) if n < wanted else "",
            "original": "–", "seeds": ", ".join(f"{seed}: {cheapest[seed]}" + (
                f" (FPA: {fpa[seed]})" if seed in fpa else "") for seed in sorted(cheapest))}


def seeds_left_cost(folder, sweep_suffix, left):
    """The seeds still to run at the measured mean time of a finished one (one thread: wall time is CPU time)."""
    path = os.path.join(folder, "report.csv")
    try:
        with open(os.path.join(folder, "report.md")) as f:
            title = f.readline().strip()
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        # a report of one sweep has no sweep column; its title names the sweep
        row = next(r for r in rows if r.get("sweep", title).endswith(sweep_suffix))
        each = float(row["wall_time_s_mean"])
    except (OSError, ValueError, KeyError, StopIteration) as err:
        raise UsageError(f"{rel(path)}: no wall time of a sweep ending in {sweep_suffix} ({err!r})") from None
    return (f"{left} seed{'s' * (left > 1)} left, about {left * each / 3600:.1f} CPU-h (measured "
            f"{each / 60:.0f} CPU-min per seed, one thread)")


def seed_rules(task, learner, results):
    """{seed: the rule FPA says the seed follows on every probe, or none} from the task's FPA report."""
    folder = find_report(task, "fpa", FPA_SEEDS, results)
    path = os.path.join(folder, "report.md") if folder else None
    if path is None or not os.path.exists(path):
        return {}
    with open(path) as f:
        lines = f.read().splitlines()
    title = lines[0] if lines else ""
    matches = (FPA_SEED_LINE.match(line) for line in lines)
    return {int(m[2]): m[3] for m in matches if m and of_learner(m[1], title, learner)}


def of_learner(label, title, learner):
    """Whether a report's per-seed line is of ``learner``: its label names the learner's sweep, or the report holds
    that sweep alone ("all runs")."""
    return f"-{learner}-" in title if label == "all runs" else label.startswith(f"{learner}-")


def lookup(claim, results):
    records = read_cell("lookup25", claim.source.variant, results)
    command = ("python -m tools.lookup25 --seed 0 --multi-seed 5 --threads 1 --results docs/results"
               + (" --variable-timing" if claim.source.variant != "fixed" else ""))
    if not records:
        return {"ours": "–", "verdict": "not yet run", "command": command, "cost": "", "original": "–", "seeds": ""}
    right = [r["metrics"]["heldout_correct"] for r in records]
    mean = statistics.fmean(right)
    verdict = "agrees" if min(right) >= claim.source.at_least else "differs"
    return {"ours": f"{mean:.1f}/5 held out, mean of {len(right)} seeds ({', '.join(map(str, right))})",
            "verdict": verdict, "command": command, "cost": "", "original": "–", "seeds": ""}


def unrun(claim, results):
    source = claim.source
    return {"ours": source.partial or "–", "verdict": "not yet run", "command": source.command, "cost": source.cost,
            "original": "–", "seeds": ""}


EVIDENCE = {MetaCell: meta_cell, MetaComparison: meta_comparison, FindFPA: find_fpa, FindDL: find_dl, Lookup: lookup,
            Unrun: unrun}


def cell(text):
    return str(text).replace("|", "\\|")


def build(results=RESULTS, claims=CLAIMS):
    rows = [(claim, EVIDENCE[type(claim.source)](claim, results)) for claim in claims]
    lines = ["# The papers' claims, tested here", "",
             "Generated by `python -m tools.ledger` from the result files under docs/results; do not edit by hand. "
             "Each row is one headline claim: what the paper reports, the original code run here where it was, ours "
             "(mean ± SD over seeds, or seeds per rule), a verdict and the command that makes the figure.", "",
             f"Verdicts: *within the paper's spread* when our mean is within {TOLERANCE_SDS:g} SDs (the paper's or "
             f"ours, the larger; at least {MIN_TOLERANCE:g} point) of the paper's; *agrees* when the rule the paper "
             "names is followed by more seeds (FPA) or is the cheaper in most seeds (description length) than each "
             "alternative, or when every seed gets as many held-out sequences right as the paper's network "
             "(the look-up); *differs* otherwise; *not yet run* with the cost of running it.", ""]
    for paper in dict.fromkeys(claim.paper for claim, _ in rows):
        lines += [f"## {paper}", "", "| claim | paper | original, run here | ours | verdict | command |",
                  "|---|---|---|---|---|---|"]
        notes = []
        for claim, evidence in (r for r in rows if r[0].paper == paper):
            lines.append("| " + " | ".join(cell(v) for v in (
                claim.claim, claim.reported, evidence["original"], evidence["ours"], evidence["verdict"],
                f"`{evidence['command']}`")) + " |")
            if evidence["seeds"]:
                notes.append(f"- {claim.claim}: per seed {evidence['seeds']}")
            if claim.note and evidence["verdict"].startswith("differs"):
                notes.append(f"- {claim.claim}: {claim.note}")
        lines += [""] + (notes + [""] if notes else [])
    left = [(claim, evidence) for claim, evidence in rows if evidence["cost"]]
    lines += ["## What is left, and its cost", ""]
    lines += [f"- {claim.paper}, {claim.claim}: {evidence['cost']}; `{evidence['command']}`" for claim, evidence in
              left] or ["Nothing."]
    return "\n".join(lines) + "\n"


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default=RESULTS, help="the results folder (default: docs/results)")
    parser.add_argument("--check", action="store_true", help="only compare the page with a fresh build")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    page = build(args.results)
    path = os.path.join(args.results, PAGE)
    if args.check:
        with open(path) as f:
            if f.read() != page:
                print(f"{rel(path)} differs from what the result files give: run {PROG}")
                return 1
        print(f"{rel(path)} is up to date")
        return 0
    write_text(path, page)
    print(f"wrote {rel(path)}")


def cli():
    """The seq-ledger command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
