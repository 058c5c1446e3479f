"""Greedy evaluation of a transduction model per input length.

    python -m tools.evaluate --data data/reversal --checkpoint runs/x/checkpoint_best.pt --out-dir runs/x

Writes ``eval.jsonl`` (one line per split and input length: counts and the three metrics of Wang 2023),
``accuracy.png`` (full-sequence accuracy against input length, in-distribution band shaded) and prints a table.
"""
import json
import os
from collections import defaultdict

from seq_cli import OneLineArgumentParser, UsageError, check_input_file, command_name, console
from tools.atomic_files import save_figure, write_jsonl

PROG = command_name("python -m tools.evaluate")
METRICS = ("full_seq_acc", "first_n_acc", "overlap")
ID_SPLIT = "test"


def load_model(checkpoint, data_bin):
    from seq_plugins.checkpoint_safety import load_model_and_task

    return load_model_and_task(checkpoint, arg_overrides={"data": data_bin})


def greedy_decoder(model, task, min_len, max_len, sequence_generator=False):
    """sample -> each string's output ids (end-of-sequence included): seq_plugins.greedy's loop, or fairseq's
    SequenceGenerator with beam 1 (the same tokens, slower) for models the loop does not support or on request."""
    from seq_plugins import greedy

    if greedy.supports(model) and not sequence_generator:
        return greedy.GreedyDecoder(model, task.target_dictionary, min_len=min_len, max_len=max_len)
    from fairseq.dataclass.configs import GenerationConfig

    generator = task.build_generator([model], GenerationConfig(beam=1, max_len_a=0, max_len_b=max_len, min_len=min_len))
    return lambda sample: [h[0]["tokens"].tolist() for h in task.inference_step(generator, [model], sample)]


def predict_split(model, task, split, batch_size, min_len=1, max_len=None, sequence_generator=False):
    """Yield (example id, source symbols, prediction ids, target ids) for every example, greedy decoding, in
    batch order. ``min_len=0`` lets a hypothesis end at once (an empty output); fairseq's default forbids it.
    ``max_len`` defaults to one symbol past the longest target, so a missing end-of-sequence is never masked.
    Batches hold strings of one source length where they can (fairseq orders a split by source length)."""
    from fairseq import utils

    from seq_plugins.progress import Progress

    task.load_dataset(split)
    dataset = task.dataset(split)
    decode = greedy_decoder(model, task, min_len, max_len or int(dataset.tgt_sizes.max()) + 1, sequence_generator)
    batches = task.get_batch_iterator(dataset, max_sentences=batch_size, max_positions=None,
                                      ignore_invalid_inputs=False).next_epoch_itr(shuffle=False)
    pad = task.target_dictionary.pad()
    with Progress(len(dataset), f"decoding {split}", "strings") as progress:
        for sample in batches:
            for i, (example_id, prediction) in enumerate(zip(sample["id"].tolist(), decode(sample))):
                source = task.source_dictionary.string(dataset.src[example_id]).split()
                target = utils.strip_pad(sample["target"][i], pad).tolist()
                yield example_id, source, prediction, target
            progress.update(len(sample["id"]))


def evaluate(model, task, splits, batch_size=250):
    """Per (split, input length) and, for input-specified reduplication, per number of @ (key ``instructions``,
    absent for the other tasks): example count and the mean of each metric."""
    from preprocess.transductions import INSTRUCTION, word_length
    from seq_plugins.sequence_metrics import sequence_metrics

    sums = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for split in splits:
        for _id, source, prediction, target in predict_split(model, task, split, batch_size):
            cell = sums[(split, word_length(source), source.count(INSTRUCTION))]
            cell[0] += 1
            for k, value in enumerate(sequence_metrics(prediction, target), start=1):
                cell[k] += value
    rows = []
    for (split, length, instructions), cell in sorted(sums.items(), key=lambda kv: (splits.index(kv[0][0]), *kv[0])):
        rows.append({"split": split, "length": length, **({"instructions": instructions} if instructions else {}),
                     "n": cell[0], **{name: cell[k] / cell[0] for k, name in enumerate(METRICS, start=1)}})
    return rows


def summary_rows(rows):
    """Example-weighted means per split, the bottom lines of the table."""
    by_split = defaultdict(list)
    for row in rows:
        by_split[row["split"]].append(row)
    out = []
    for split, group in by_split.items():
        n = sum(r["n"] for r in group)
        out.append({"split": split, "length": "mean", "n": n,
                    **{m: sum(r[m] * r["n"] for r in group) / n for m in METRICS}})
    return out


def format_table(rows):
    """One line per row; ``test@2`` is the test split's examples with two @."""
    rows = rows + summary_rows(rows)
    labels = [row["split"] + (f"@{row['instructions']}" if "instructions" in row else "") for row in rows]
    width = max(10, *map(len, labels))
    lines = [f"{'split':<{width}} {'length':>6} {'n':>7} {'full-seq':>9} {'first-n':>9} {'overlap':>9}"]
    for label, row in zip(labels, rows):
        lines.append(f"{label:<{width}} {row['length']:>6} {row['n']:>7} "
                     + " ".join(f"{row[m]:>9.4f}" for m in METRICS))
    return "\n".join(lines)


def plot_accuracy(runs, path, id_lengths, title=""):
    """Full-sequence accuracy against input length; ``runs`` maps a label to eval rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if id_lengths:
        ax.axvspan(min(id_lengths) - 0.5, max(id_lengths) + 0.5, color="0.9", label="in distribution")
    for label, rows in runs.items():
        # one line per number of @ (a single line for the tasks without @); unseen numbers dashed
        series = defaultdict(list)
        for r in rows:
            if r["split"] in (ID_SPLIT, "ood", "ood_instr"):
                series[(r["split"] == "ood_instr", r.get("instructions", 0))].append((r["length"], r["full_seq_acc"]))
        for (unseen, instructions), points in sorted(series.items()):
            name = (f"{label}, {instructions} @" + (" (unseen count)" if unseen else "")) if instructions else label
            ax.plot(*zip(*sorted(points)), marker="x" if unseen else ".", linestyle="--" if unseen else "-",
                    label=name)
    ax.set_xlabel("input length")
    ax.set_ylabel("full-sequence accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--data", required=True, help="data set directory made by preprocess.transductions")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--splits", default=None, help="comma-separated (default: test, ood and ood_instr if present)")
    parser.add_argument("--out-dir", required=True, help="where eval.jsonl and accuracy.png go")
    parser.add_argument("--batch-size", type=int, default=250,
                        help="strings per forward pass (250: faster than larger batches on a CPU, docs/benchmarks.md)")
    parser.add_argument("--label", default=None, help="legend label of the plot")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    data_bin = os.path.join(args.data, "data-bin")
    config_path = os.path.join(args.data, "config.json")
    if not os.path.isfile(config_path) or not os.path.isdir(data_bin):
        raise UsageError(f"--data {args.data} holds no config.json and data-bin/; make it with preprocess.transductions")
    check_input_file(args.checkpoint, "checkpoint")
    from seq_plugins.tasks.transduction import available_splits  # loads fairseq: after the argument checks

    with open(config_path) as f:
        data_cfg = json.load(f)
    found = available_splits(data_bin, "src", "tgt")
    splits = args.splits.split(",") if args.splits else [s for s in (ID_SPLIT, "ood", "ood_instr") if s in found]
    missing = [s for s in splits if s not in found]
    if missing:
        raise UsageError(f"--data {args.data} has no split {missing[0]!r} (it has: {', '.join(found)})")

    model, task = load_model(args.checkpoint, data_bin)
    rows = evaluate(model, task, splits, args.batch_size)
    os.makedirs(args.out_dir, exist_ok=True)
    jsonl = os.path.join(args.out_dir, "eval.jsonl")
    write_jsonl(jsonl, rows)
    png = os.path.join(args.out_dir, "accuracy.png")
    plot_accuracy({args.label or os.path.basename(os.path.normpath(args.out_dir)): rows}, png,
                  data_cfg["id_lengths"], title=data_cfg["task"])
    print(format_table(rows))
    print(f"wrote {jsonl} and {png}")
    return rows


def cli():
    """The seq-evaluate command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
