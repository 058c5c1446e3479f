"""Pictures of one trained 25-sequence look-up network (a seed of ``python -m tools.lookup25``).

    python -m tools.lookup25_pictures runs/lookup25/fixed-seed0 [--seed 0] [--gif] [--out DIR]

Writes to ``--out`` (default: the run's ``seed<k>/`` folder):
  training.png       training loss (log scale) and training / held-out accuracy per sweep
  bits.png           accuracy of each output bit per sweep, training and held out
  weights.png        heatmaps of W_xh, W_hh and W_hy after training
  hidden_states.png  the hidden state at every step of each held-out sequence
  pass_fail.png      per sequence, its bits right after training: pass (all three) or fail
  heldout.gif        (with --gif) the held-out outputs settling towards their targets during training
"""
import argparse
import json
import os

import numpy as np

from seq_cli import OneLineArgumentParser, UsageError, command_name, console
from tools import lookup25

PROG = command_name("python -m tools.lookup25_pictures")
PASS, FAIL, HELD_OUT, TRAIN = "#2a9d55", "#d1495b", "#e07a1f", "#3b6fb6"


def load_run(run_dir, seed):
    """(result of that seed, model, task) from a tools.lookup25 output directory."""
    path = os.path.join(run_dir, "result.json")
    if not os.path.isfile(path):
        raise UsageError(f"{path} does not exist: give a directory written by python -m tools.lookup25")
    with open(path) as f:
        result = json.load(f)
    runs = {run["seed"]: run for run in result["runs"]}
    seed = min(runs) if seed is None else seed
    if seed not in runs:
        raise UsageError(f"{path} has seeds {sorted(runs)}, not {seed}")
    checkpoint = os.path.join(run_dir, f"seed{seed}", lookup25.CHECKPOINT)
    if not os.path.isfile(checkpoint):
        raise UsageError(f"{checkpoint} does not exist; re-run {' '.join(result['command'])}")
    from seq_plugins.checkpoint_safety import load_model_and_task  # loads fairseq: after the argument checks

    model, task = load_model_and_task(checkpoint)
    model.requires_grad_(False)  # the pictures only read it: no graph, and its weights convert to numpy as they are
    return result, runs[seed], model, task


def plot_training(history, totals, ax_loss, ax_acc):
    sweeps = np.arange(1, len(history["loss"]) + 1)
    ax_loss.semilogy(sweeps, history["loss"], color=TRAIN)
    ax_loss.set(xlabel="sweep", ylabel="training loss (0.5 mean squared error)", title="loss")
    ax_acc.plot(sweeps, np.array(history["train_correct"]) / totals[0], color=TRAIN, label=f"training ({totals[0]})")
    ax_acc.plot(sweeps, np.array(history["heldout_correct"]) / totals[1], color=HELD_OUT,
                label=f"held out ({totals[1]})")
    ax_acc.set(xlabel="sweep (log scale: the early sweeps decide)", ylabel="sequences with all 3 bits right",
               ylim=(-0.03, 1.03), xscale="log", title="accuracy")
    ax_acc.legend(loc="lower right")


def plot_bits(history, totals, axes):
    sweeps = np.arange(1, len(history["loss"]) + 1)
    train = np.array(history["train_bit_correct"]) / totals[0]
    heldout = np.array(history["heldout_bit_correct"]) / totals[1]
    for bit, ax in enumerate(axes):
        ax.plot(sweeps, train[:, bit], color=TRAIN, label="training")
        ax.plot(sweeps, heldout[:, bit], color=HELD_OUT, label="held out")
        ax.set(xlabel="sweep (log scale)", title=f"bit {bit}", ylim=(-0.03, 1.03), xscale="log")
    axes[0].set_ylabel("fraction of sequences with the bit right")
    axes[0].legend(loc="lower right")


def plot_weights(model, fig, axes):
    from seq_plugins.tasks.sequence_lookup import LETTERS

    for ax, (name, weight) in zip(axes, [("W_xh (input to hidden)", model.w_xh), ("W_hh (hidden to hidden)", model.w_hh),
                                         ("W_hy (hidden to output)", model.w_hy)]):
        w = weight.numpy()
        bound = np.abs(w).max()
        image = ax.imshow(w, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto", interpolation="nearest")
        ax.set(title=name, ylabel="to unit", xlabel="from unit")
        fig.colorbar(image, ax=ax, fraction=0.046)
    axes[0].set_xticks(range(len(LETTERS)), list(LETTERS))
    axes[0].set_xlabel("from letter")
    axes[2].set_yticks(range(3), ["bit 0", "bit 1", "bit 2"])


def plot_hidden_states(model, task, fig, axes):
    from seq_plugins.tasks.sequence_lookup import LETTERS, sign_matches, spell

    dataset = task.build_split("valid")
    batch = dataset.collater(list(range(len(dataset))))
    outputs, states = model(**batch["net_input"], return_states=True)
    right = sign_matches(outputs.numpy(), batch["target"].numpy())
    for i, ax in enumerate(axes):
        length = int(batch["net_input"]["src_lengths"][i])
        image = ax.imshow(states[i, :length].numpy().T, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                          interpolation="nearest")
        ax.set_xticks(range(length), [LETTERS[t] for t in batch["net_input"]["src_tokens"][i, :length].tolist()])
        verdict = "pass" if right[i].all() else "fail"
        ax.set_title(f"{spell(dataset.letters[i])}: {verdict}", color=PASS if right[i].all() else FAIL)
        ax.set_xlabel("step (input letter)")
    axes[0].set_ylabel("hidden unit")
    fig.colorbar(image, ax=list(axes), fraction=0.02, label="h_t")


def plot_pass_fail(run, ax):
    from seq_plugins.tasks.sequence_lookup import sign_matches

    rows = run["sequences"]
    bits_right = sign_matches(np.array([r["output"] for r in rows]), np.array([r["target"] for r in rows])).sum(axis=1)
    colors = [PASS if r["correct"] else FAIL for r in rows]
    positions = np.arange(len(rows)) + np.array([0.0 if r["split"] == "train" else 1.0 for r in rows])
    ax.bar(positions, bits_right, color=colors, edgecolor=[TRAIN if r["split"] == "train" else HELD_OUT for r in rows],
           linewidth=2)
    ax.set_xticks(positions, [r["sequence"] for r in rows], rotation=90, family="monospace")
    ax.set(ylabel="bits right (of 3)", ylim=(0, 3.2), yticks=[0, 1, 2, 3],
           title="after training: green = all three bits right; outline blue = training, orange = held out")


def write_gif(history, task, path, frames=40):
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    from seq_plugins.tasks.sequence_lookup import spell

    dataset = task.build_split("valid")
    outputs = np.array(history["heldout_outputs"])  # (sweeps, sequences, bits)
    targets = dataset.targets
    shown = np.unique(np.geomspace(1, len(outputs), frames).astype(int)) - 1  # early sweeps change fastest
    fig, ax = plt.subplots(figsize=(6, 3), dpi=80, layout="constrained")
    x = np.arange(targets.size)
    ax.scatter(x, targets.ravel(), marker="_", s=300, color="black", label="target")
    bars = ax.bar(x, outputs[0].ravel(), color=HELD_OUT)
    ax.set_xticks(x, [f"{spell(s)}\nbit {b}" if b == 1 else f"bit {b}" for s in dataset.letters for b in range(3)],
                  fontsize=6)
    ax.set(ylim=(-1.1, 1.1), ylabel="output")
    ax.axhline(0, color="grey", linewidth=0.5)
    title = ax.set_title("")
    ax.legend(loc="upper right", fontsize=7)

    def frame(k):
        values = outputs[shown[k]].ravel()
        for bar, value, target in zip(bars, values, targets.ravel()):
            bar.set_height(value)
            bar.set_color(PASS if (value >= 0) == (target > 0) else FAIL)
        title.set_text(f"held-out outputs, sweep {shown[k] + 1}")
        return [*bars, title]

    FuncAnimation(fig, frame, frames=len(shown), blit=False).save(path, writer=PillowWriter(fps=6))
    plt.close(fig)


def draw(run_dir, seed=None, out=None, gif=False):
    result, run, model, task = load_run(run_dir, seed)
    import matplotlib  # after load_run's checks of the run directory

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = out or os.path.join(run_dir, f"seed{run['seed']}")
    os.makedirs(out, exist_ok=True)
    history = task.history
    totals = run["train"]["total"], run["heldout"]["total"]
    label = f"{result['variant']}, seed {run['seed']}"
    written = []

    def save(fig, name):
        fig.suptitle(f"25-sequence look-up ({label})")
        path = os.path.join(out, name)
        fig.savefig(path + ".tmp.png", dpi=100)
        os.replace(path + ".tmp.png", path)
        plt.close(fig)
        written.append(path)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    plot_training(history, totals, *axes)
    save(fig, "training.png")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True, layout="constrained")
    plot_bits(history, totals, axes)
    save(fig, "bits.png")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [1, 3, 3]}, layout="constrained")
    plot_weights(model, fig, axes)
    save(fig, "weights.png")
    fig, axes = plt.subplots(1, totals[1], figsize=(3 * totals[1], 4), sharey=True, layout="constrained")
    plot_hidden_states(model, task, fig, np.atleast_1d(axes))
    save(fig, "hidden_states.png")
    fig, ax = plt.subplots(figsize=(11, 3.8), layout="constrained")
    plot_pass_fail(run, ax)
    save(fig, "pass_fail.png")
    if gif:
        path = os.path.join(out, "heldout.gif")
        write_gif(history, task, path + ".tmp.gif")
        os.replace(path + ".tmp.gif", path)
        written.append(path)
    return written


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="output directory of python -m tools.lookup25")
    parser.add_argument("--seed", type=int, help="which seed of the run (default: the first)")
    parser.add_argument("--out", help="where the pictures go (default: <run>/seed<k>/)")
    parser.add_argument("--gif", action="store_true", help="also an animated GIF of the held-out outputs")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    for path in draw(args.run, args.seed, args.out, args.gif):
        print(path)


def cli():
    """The seq-lookup25-pictures command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
