"""The 25-sequence look-up of Rumelhart, Hinton & Williams (1986): train, print and save the result.

    python -m tools.lookup25 --seed 0                      # fixed timing: H = 30, 800 sweeps
    python -m tools.lookup25 --seed 0 --variable-timing    # each letter held 1-2 steps: H = 60, 2,000 sweeps
    python -m tools.lookup25 --seed 0 --multi-seed 5 --variable-timing --max-timing 3

Every run is the fairseq experiment of ``--task sequence_lookup --arch lookup_rnn --criterion
lookup_squared_error --optimizer shrink_sgd``, built by fairseq from the very arguments of the stock command that
``result.json`` records (``fairseq_train_command``). The updates are driven here, with the calls fairseq's Trainer
makes for one update (the task's forward and backward, gradients divided by the batch size, clipping, the
optimizer's step), because the Trainer's own bookkeeping costs more than the update of this tiny network; stock
fairseq-train reaches the same weights (tests/test_lookup25.py). Each seed's checkpoint (stock format, with the
per-sweep history in its task state) goes to ``<out>/seed<k>/checkpoint_last.pt``; ``<out>/result.json`` holds the
configuration and every seed's numbers. Pictures: ``python -m tools.lookup25_pictures <out>``.
"""
import time

START = time.perf_counter()  # before the imports, which take most of a short run's wall time

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from seq_cli import (OneLineArgumentParser, UsageError, add_threads_option, choose_threads,  # noqa: E402
                     command_name, console, threads_phrase)
from tools.atomic_files import write_json  # noqa: E402

PROG = command_name("python -m tools.lookup25")
PRESETS = {
    "fixed": {"hidden_units": 30, "init_scale": 0.5, "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4,
              "clip_norm": 5.0, "sweeps": 800, "max_timing": 1},
    "variable": {"hidden_units": 60, "init_scale": 0.2, "lr": 0.02, "momentum": 0.9, "weight_decay": 1e-4,
                 "clip_norm": 1.0, "sweeps": 2000, "max_timing": 2},
}
CHECKPOINT = "checkpoint_last.pt"


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="initial weights and training timings (default 0)")
    parser.add_argument("--multi-seed", type=int, default=1, metavar="N", help="train seeds seed .. seed+N-1")
    parser.add_argument("--variable-timing", action="store_true", help="hold each letter for a random time")
    parser.add_argument("--max-timing", type=int, help="longest hold, with --variable-timing (default 2)")
    parser.add_argument("--dataset-seed", type=int, default=0, help="the 25 sequences and held-out timings")
    parser.add_argument("--sweeps", type=int, help="full-batch updates (default: 800 fixed, 2,000 variable)")
    parser.add_argument("--out", help="output directory (default runs/lookup25/<variant>-seed<seeds>)")
    parser.add_argument("--markdown", action="store_true", help="also print the seeds as a Markdown table")
    parser.add_argument("--results", metavar="DIR",
                        help="also write each seed's result file for the claims ledger: "
                             "DIR/lookup25/runs/<variant>/seed<k>.json (the ledger reads docs/results)")
    add_threads_option(parser, "1, the fastest here")
    return parser


def configure(args):
    if args.multi_seed < 1:
        raise UsageError(f"--multi-seed must be at least 1, got {args.multi_seed}")
    if args.max_timing is not None and not args.variable_timing:
        raise UsageError("--max-timing applies to --variable-timing only")
    config = dict(PRESETS["variable" if args.variable_timing else "fixed"], dataset_seed=args.dataset_seed)
    if args.max_timing is not None:
        if args.max_timing < 2:
            raise UsageError(f"--max-timing must be at least 2 for variable timing, got {args.max_timing}")
        config["max_timing"] = args.max_timing
    if args.sweeps is not None:
        if args.sweeps < 1:
            raise UsageError(f"--sweeps must be at least 1, got {args.sweeps}")
        config["sweeps"] = args.sweeps
    return config


def fairseq_train_args(config, seed, save_dir):
    """The arguments of the stock ``fairseq-train`` command for one seed of this experiment."""
    import seq_plugins

    return ["--user-dir", os.path.dirname(os.path.abspath(seq_plugins.__file__)),
            "--task", "sequence_lookup", "--dataset-seed", str(config["dataset_seed"]),
            "--max-timing", str(config["max_timing"]), "--sweeps-per-epoch", str(config["sweeps"]),
            "--arch", "lookup_rnn", "--hidden-units", str(config["hidden_units"]),
            "--init-scale", str(config["init_scale"]),
            "--criterion", "lookup_squared_error",
            "--optimizer", "shrink_sgd", "--lr", str(config["lr"]), "--momentum", str(config["momentum"]),
            "--weight-decay", str(config["weight_decay"]), "--clip-norm", str(config["clip_norm"]),
            "--batch-size", "20", "--max-update", str(config["sweeps"]), "--seed", str(seed),
            "--save-dir", save_dir, "--no-epoch-checkpoints", "--num-workers", "0", "--cpu",
            "--log-format", "simple"]


def train(config, seed, save_dir):
    """One seed, built by fairseq from the stock arguments; returns the trainer (its task holds the history)."""
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from fairseq.trainer import Trainer

    args = options.parse_args_and_arch(options.get_training_parser(), fairseq_train_args(config, seed, save_dir))
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("train")
    model = task.build_model(cfg.model)
    criterion = task.build_criterion(cfg.criterion)
    trainer = Trainer(cfg, task, model, criterion)
    optimizer = trainer.optimizer
    batch = next(iter(task.get_batch_iterator(task.dataset("train"), max_sentences=20).next_epoch_itr(shuffle=False)))
    model.train()
    for update in range(config["sweeps"]):
        optimizer.zero_grad()
        _loss, sample_size, _log = task.train_step(batch, model, criterion, optimizer, update)
        optimizer.multiply_grads(1.0 / sample_size)
        optimizer.clip_grad_norm(config["clip_norm"])
        task.optimizer_step(optimizer, model, update)
    trainer.set_num_updates(config["sweeps"])  # once: the learning rate is fixed, so no schedule to step
    os.makedirs(save_dir, exist_ok=True)
    trainer.consolidate_optimizer()  # (fairseq's own saving does this first)
    trainer.save_checkpoint(os.path.join(save_dir, CHECKPOINT), {})
    return trainer


def evaluate(task, model):
    """Final numbers (after the last update): per split, correct sequences and bits, and every sequence's row."""
    import torch

    from seq_plugins.tasks.sequence_lookup import sign_matches, spell

    rows, summary = [], {}
    for split, name in (("train", "train"), ("valid", "heldout")):
        dataset = task.build_split(split)
        batch = dataset.collater(list(range(len(dataset))))
        with torch.no_grad():
            outputs = model(**batch["net_input"]).numpy()
        right = sign_matches(outputs, batch["target"].numpy())
        loss = 0.5 * ((outputs - batch["target"].numpy()) ** 2).sum(axis=1).mean()
        summary[name] = {"correct": int(right.all(axis=1).sum()), "total": len(right),
                         "bit_correct": right.sum(axis=0).tolist(), "loss": float(loss)}
        for i in range(len(right)):
            rows.append({"split": name, "sequence": spell(dataset.letters[i]), "holds": dataset.holds[i].tolist(),
                         "target": dataset.targets[i].tolist(), "output": outputs[i].tolist(),
                         "correct": bool(right[i].all())})
    return summary, rows


def run_seed(config, seed, out):
    save_dir = os.path.join(out, f"seed{seed}")
    trainer = train(config, seed, save_dir)
    task = trainer.task
    summary, rows = evaluate(task, trainer.model)
    train_correct = task.history["train_correct"]
    n_train = summary["train"]["total"]
    # sweep k (from 1) is measured in its own forward pass, before its update
    converged = train_correct.index(n_train) + 1 if n_train in train_correct else None
    stable = len(train_correct) + 1
    while stable > 1 and train_correct[stable - 2] == n_train:
        stable -= 1
    every = max(1, len(task.history["loss"]) // 100)  # about 100 points of the per-sweep curve
    curve = [[k + 1, round(task.history["loss"][k], 6), task.history["train_correct"][k], task.history[
        "heldout_correct"][k]] for k in range(0, len(task.history["loss"]), every)]
    return {"seed": seed, **summary, "converged_sweep": converged, "curve": curve,
            "all_correct_from_sweep": stable if stable <= len(train_correct) else None,
            "loop_seconds": round(task.state.loop_seconds, 3),
            "loop_cpu_seconds": round(task.state.loop_cpu_seconds, 3), "checkpoint": os.path.join(save_dir, CHECKPOINT),
            "fairseq_train_command": ["fairseq-train", *fairseq_train_args(config, seed, save_dir)],
            "sequences": rows}


def format_run(run):
    def part(name):
        s = run[name]
        bits = "/".join(str(b) for b in s["bit_correct"])
        return f"{name} {s['correct']}/{s['total']} (bits {bits}, loss {s['loss']:.1e})"

    converged = f"converged at sweep {run['converged_sweep']}" if run["converged_sweep"] else "never converged"
    wrong = ", ".join(r["sequence"] for r in run["sequences"] if r["split"] == "heldout" and not r["correct"])
    return (f"seed {run['seed']}: {part('train')}, {part('heldout')}{'  wrong: ' + wrong if wrong else ''}; "
            f"{converged}; training loop {run['loop_seconds']:.2f} s "
            f"({run['loop_cpu_seconds']:.2f} s CPU)")


def markdown_table(runs):
    lines = ["| seed | training | training loss | held out | held-out bits right | wrong held out | converged at sweep "
             "| 20/20 from sweep on | loop s (CPU s) |", "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        wrong = ", ".join(r["sequence"] for r in run["sequences"] if r["split"] == "heldout" and not r["correct"])
        lines.append(f"| {run['seed']} | {run['train']['correct']}/{run['train']['total']} | "
                     f"{run['train']['loss']:.1e} | {run['heldout']['correct']}/{run['heldout']['total']} | "
                     f"{'/'.join(str(b) for b in run['heldout']['bit_correct'])} | {wrong or '-'} | "
                     f"{run['converged_sweep'] or 'never'} | {run['all_correct_from_sweep'] or 'never'} | "
                     f"{run['loop_seconds']:.2f} ({run['loop_cpu_seconds']:.2f}) |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    config = configure(args)
    seeds = list(range(args.seed, args.seed + args.multi_seed))
    variant = f"variable-t{config['max_timing']}" if args.variable_timing else "fixed"
    out = args.out or os.path.join("runs", "lookup25", f"{variant}-seed{seeds[0]}" +
                                   (f"-{seeds[-1]}" if len(seeds) > 1 else ""))
    existing = os.path.abspath(out)  # out or the closest folder above it that exists must be a directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"--out {out}: {existing} is not a directory")
    threads, why = choose_threads(args.threads)
    print(f"{PROG}: {threads_phrase(threads, why)}", flush=True)
    import torch

    torch.set_num_threads(threads)
    runs = []
    for seed in seeds:
        runs.append(run_seed(config, seed, out))
        print(format_run(runs[-1]), flush=True)
    n = len(runs)
    summary = {
        "seeds": n,
        "train_all_correct": sum(r["train"]["correct"] == r["train"]["total"] for r in runs),
        "heldout_correct_mean": sum(r["heldout"]["correct"] for r in runs) / n,
        "heldout_all_correct": sum(r["heldout"]["correct"] == r["heldout"]["total"] for r in runs),
        "converged": sum(r["converged_sweep"] is not None for r in runs),
        "wall_seconds": round(time.perf_counter() - START, 2),
    }
    write_json(os.path.join(out, "result.json"), {"variant": variant, "config": config, "summary": summary,
                                                  "threads": threads, "runs": runs,
                                                  "command": ["python", "-m", "tools.lookup25", *argv]})
    if args.results:
        write_ledger_results(args.results, variant, config, runs, threads, argv)
    if n > 1:
        print(f"{n} seeds: training 100% in {summary['train_all_correct']}, held-out mean "
              f"{summary['heldout_correct_mean']:.1f}/5, all 5 held-out in {summary['heldout_all_correct']}, "
              f"converged in {summary['converged']}")
    if args.markdown:
        print(markdown_table(runs))
    print(f"wall time {summary['wall_seconds']:.1f} s (imports included); result: {os.path.join(out, 'result.json')}")
    return runs


def write_ledger_results(results, variant, config, runs, threads, argv):
    from tools.result_files import commit, result_path, write_result

    revision = commit()
    for run in runs:
        write_result(result_path("lookup25", variant, run["seed"], results), study="lookup25", cell=variant,
                     seed=run["seed"], config=config,
                     metrics={"heldout_correct": run["heldout"]["correct"], "heldout_total": run["heldout"]["total"],
                              "train_correct": run["train"]["correct"], "train_total": run["train"]["total"],
                              "converged_sweep": run["converged_sweep"]},
                     curve={"x": "sweep", "y": "training loss, training and held-out sequences right (before the "
                                             "sweep's update)", "points": run["curve"]},
                     commands={"train": ["python", "-m", "tools.lookup25", *argv],
                               "fairseq_train_equivalent": run["fairseq_train_command"]},
                     commit=revision, cpu_s=run["loop_cpu_seconds"], wall_s=run["loop_seconds"], threads=threads)


def cli():
    """The seq-lookup25 command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
