"""The 25-sequence look-up: the original NumPy code and ours (tools.lookup25), seed by seed.

    python -m tools.compare_original lookup25 --original ~/src/hinton-problems --seeds 0-4 --out runs/compare/lookup
    python -m tools.compare_original lookup25 --original ~/src/hinton-problems --variable-timing --out ...

The checkout is of branch wave/4 (commit a83a59e): the main branch holds only a stub of this problem. Both sides get
the settings of tools.lookup25 for the timing mode (hidden units, initial scale, learning rate, momentum, weight
decay, clipping, sweeps, longest hold), passed to the original's command line explicitly; our variable timing draws
the holds from the original's random streams, so the seeds are comparable one by one. The original,
sequence-lookup-25/sequence_lookup_25.py, runs per seed in a subprocess (tools.originals.run_seeded, one thread) in
<out>/original/seed<k>/ (its output in log.txt, its numbers in result.json); ours runs in this process, its
checkpoints in <out>/ours/seed<k>/. Printed per seed, original / ours: held-out sequences right after training,
their per-bit counts and the wrong ones; training sequences right and loss in the last sweep's forward pass
(before its update: the numbers both sides record); the first sweep with 20/20 training; the first sweep whose
losses differ by more than 1e-6 relatively; then the means and the largest relative difference of the last
sweep's loss. <out>/compare.json holds the same numbers.
"""
import json
import os
import subprocess

from tools.originals import seeded_command

REPOSITORY = "yaroslavvb/hinton-problems"
COMMIT = "a83a59e2eeb96e3c46da3f95b5eae2e7d92a4253"
SCRIPT = "sequence-lookup-25/sequence_lookup_25.py"
FILES = {SCRIPT: "a98f451bf13d3016a21f8183c73e7384cc8b9ecf59d6dbb0e861904c14fa4913"}
RUNTIME_PATCHES = []
# our configuration key -> the original's option
ORIGINAL_OPTIONS = {"hidden_units": "--n-hidden", "init_scale": "--init-scale", "lr": "--lr", "momentum": "--momentum",
                    "weight_decay": "--weight-decay", "clip_norm": "--grad-clip", "sweeps": "--n-sweeps",
                    "max_timing": "--max-timing", "dataset_seed": "--dataset-seed"}


def add_arguments(parser):
    parser.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-4 or 0,2 (default 0-4)")
    parser.add_argument("--variable-timing", action="store_true", help="hold each letter for a random time")
    parser.add_argument("--max-timing", type=int, help="longest hold, with --variable-timing (default 2)")
    parser.add_argument("--sweeps", type=int, help="full-batch updates (default: 800 fixed, 2,000 variable)")
    parser.add_argument("--dataset-seed", type=int, default=0, help="the 25 sequences and their timings")


def our_config(args):
    """tools.lookup25's configuration for these options (its own checks refuse bad values)."""
    from tools import lookup25

    argv = ["--dataset-seed", str(args.dataset_seed)]
    if args.variable_timing:
        argv.append("--variable-timing")
    if args.max_timing is not None:
        argv += ["--max-timing", str(args.max_timing)]
    if args.sweeps is not None:
        argv += ["--sweeps", str(args.sweeps)]
    return lookup25.configure(lookup25.build_parser().parse_args(argv))


def run_original(checkout, config, variable_timing, seed, out):
    """The original's numbers for one seed, read from the file its --save-results writes."""
    from seq_cli import UsageError
    from seq_plugins.tasks.sequence_lookup import N_TRAIN, spell

    out = os.path.abspath(out)  # the original runs there
    os.makedirs(out, exist_ok=True)
    result_file = os.path.join(out, "result.json")
    script_args = ["--seed", str(seed), "--save-results", result_file]
    script_args += [arg for key, option in ORIGINAL_OPTIONS.items() for arg in (option, str(config[key]))]
    if variable_timing:
        script_args.append("--variable-timing")
    command, env = seeded_command(checkout, seed, SCRIPT, script_args)
    log = os.path.join(out, "log.txt")
    with open(log, "w") as f:
        finished = subprocess.run(command, cwd=out, env=env, stdout=f, stderr=subprocess.STDOUT)
    if finished.returncode != 0 or not os.path.isfile(result_file):
        raise UsageError(f"the original failed on seed {seed} (exit status {finished.returncode}); see {log}")
    with open(result_file) as f:
        result = json.load(f)
    predictions, targets = result["test_predictions"], result["test_targets"]
    return {"heldout_correct": result["test_n_correct"], "heldout_total": result["test_n_total"],
            "heldout_bit_correct": [sum(p[i] == t[i] for p, t in zip(predictions, targets))
                                    for i in range(len(targets[0]))],
            "heldout_wrong": [spell(letters) for letters, p, t in zip(result["test_letters"], predictions, targets)
                              if p != t],
            "train_correct_last_sweep": round(result["final_train_acc"] * N_TRAIN),
            "loss_last_sweep": result["history_loss"][-1], "converged_sweep": result["converged_sweep"],
            "loop_seconds": result["wallclock"], "loss_per_sweep": result["history_loss"]}


def run_ours(config, seed, out):
    """Our numbers for one seed (tools.lookup25's run), the last sweep's from its checkpoint's history."""
    import torch

    from tools import lookup25

    run = lookup25.run_seed(config, seed, out)
    history = torch.load(run["checkpoint"], weights_only=True)["task_state"]["history"]
    return {"heldout_correct": run["heldout"]["correct"], "heldout_total": run["heldout"]["total"],
            "heldout_bit_correct": run["heldout"]["bit_correct"],
            "heldout_wrong": [r["sequence"] for r in run["sequences"] if r["split"] == "heldout" and not r["correct"]],
            "train_correct_last_sweep": history["train_correct"][-1], "loss_last_sweep": history["loss"][-1],
            "converged_sweep": run["converged_sweep"], "loop_seconds": run["loop_seconds"],
            "loss_per_sweep": history["loss"]}


# (header, a seed's cell, the mean's cell or None)
COLUMNS = (("held out of 5", lambda r: str(r["heldout_correct"]),
            lambda m: f"{m['heldout_correct']:.1f}"),
           ("held-out bits right", lambda r: "/".join(str(b) for b in r["heldout_bit_correct"]), None),
           ("wrong held out", lambda r: ", ".join(r["heldout_wrong"]) or "-", None),
           ("training of 20, last sweep", lambda r: str(r["train_correct_last_sweep"]),
            lambda m: f"{m['train_correct_last_sweep']:.1f}"),
           ("loss, last sweep", lambda r: f"{r['loss_last_sweep']:.3e}", lambda m: f"{m['loss_last_sweep']:.3e}"),
           ("converged at sweep", lambda r: str(r["converged_sweep"] or "never"), None),
           ("loop s", lambda r: f"{r['loop_seconds']:.2f}", lambda m: f"{m['loop_seconds']:.2f}"))
MEANS = ("heldout_correct", "train_correct_last_sweep", "loss_last_sweep", "loop_seconds")
APART = 1e-6  # relative difference of a sweep's loss from which the two runs count as apart


def apart_from(original, ours):
    """The first sweep (from 1) whose losses differ by more than APART relatively, or None."""
    return next((k + 1 for k, (a, b) in enumerate(zip(original, ours)) if abs(b / a - 1) > APART), None)


def table(rows, means):
    """Markdown: one row per seed, each cell original / ours, then the means."""
    lines = ["| seed | " + " | ".join(f"{name} (original / ours)" for name, _, _ in COLUMNS) +
             f" | losses apart (> {APART:.0e}) from sweep |", "|---" * (len(COLUMNS) + 2) + "|"]
    for row in rows:
        cells = (f"{cell(row['original'])} / {cell(row['ours'])}" for _, cell, _ in COLUMNS)
        lines.append(f"| {row['seed']} | " + " | ".join(cells) + f" | {row['losses_apart_from_sweep'] or 'never'} |")
    cells = (f"{mean(means['original'])} / {mean(means['ours'])}" if mean else "" for _, _, mean in COLUMNS)
    lines.append("| mean | " + " | ".join(cells) + " |  |")
    return "\n".join(lines)


def run(args, checkout):
    import torch

    from seq_cli import parse_int_ranges
    from tools.atomic_files import write_json

    seeds = parse_int_ranges(args.seeds, "--seeds", minimum=0)
    config = our_config(args)
    torch.set_num_threads(1)
    rows = []
    for seed in seeds:
        rows.append({"seed": seed,
                     "original": run_original(checkout, config, args.variable_timing, seed,
                                              os.path.join(args.out, "original", f"seed{seed}")),
                     "ours": run_ours(config, seed, os.path.join(args.out, "ours"))})
        rows[-1]["losses_apart_from_sweep"] = apart_from(rows[-1]["original"].pop("loss_per_sweep"),
                                                         rows[-1]["ours"].pop("loss_per_sweep"))
        print(f"seed {seed}: held out {rows[-1]['original']['heldout_correct']}/5 original, "
              f"{rows[-1]['ours']['heldout_correct']}/5 ours", flush=True)
    means = {side: {key: sum(row[side][key] for row in rows) / len(rows) for key in MEANS}
             for side in ("original", "ours")}
    gap = max(abs(row["ours"]["loss_last_sweep"] / row["original"]["loss_last_sweep"] - 1) for row in rows)
    print(table(rows, means))
    print(f"largest relative difference of the last sweep's loss: {gap:.1e}")
    write_json(os.path.join(args.out, "compare.json"), {
        "family": "lookup25", "repository": REPOSITORY, "commit": COMMIT, "checkout": checkout,
        "runtime_patches": RUNTIME_PATCHES, "variable_timing": args.variable_timing, "config": config,
        "seeds": rows, "means": means, "loss_relative_difference_max": gap})
