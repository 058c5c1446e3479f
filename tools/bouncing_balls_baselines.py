"""Reference points for the per-frame errors of --task bouncing_balls, on the same generated splits as training:

    python -m tools.bouncing_balls_baselines --train-size 1600 --test-balls 4,5,6   # options of the task

For each split: the squared error per frame of predicting that nothing moves (the next frame = the frame read), and
of the mean training frame; the binary cross-entropy per frame of the mean training frame; and the floor of the
binary cross-entropy per frame (the entropy of the grey target pixels, what a perfect predictor scores).
"""
import dataclasses

from preprocess.bouncing_balls import BouncingBallsOptions, check_options
from seq_cli import OneLineArgumentParser, command_name, console

PROG = command_name("python -m tools.bouncing_balls_baselines")


def baselines(dataset, mean_frame):
    """{name: value per frame} for one split (a LabelledSequences of frames)."""
    from torch.nn import functional as F

    inputs, targets = dataset.inputs, dataset.targets
    frames = targets.numel() // targets.size(-1)
    mean = mean_frame.clamp(1e-6, 1 - 1e-6).expand_as(targets)
    return {
        "sq. error, no motion": (inputs - targets).pow(2).sum().item() / frames,
        "sq. error, mean frame": (mean - targets).pow(2).sum().item() / frames,
        "BCE, mean frame": F.binary_cross_entropy(mean, targets, reduction="sum").item() / frames,
        "BCE floor": F.binary_cross_entropy(targets.clamp(1e-6, 1 - 1e-6), targets, reduction="sum").item() / frames,
    }


def main(argv=None):
    parser = OneLineArgumentParser(prog=PROG, description=__doc__)
    for f in dataclasses.fields(BouncingBallsOptions):  # the task's own options, as fairseq-train takes them
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default,
                            help=f.metadata.get("help"))
    args = parser.parse_args(argv)
    check_options(args)
    from seq_plugins.tasks.bouncing_balls import BouncingBallsConfig, BouncingBallsTask  # loads fairseq

    task = BouncingBallsTask(BouncingBallsConfig(**vars(args)))
    mean_frame = task.load_dataset("train").targets.mean(dim=(0, 1))
    rows = [(split, baselines(task.load_dataset(split), mean_frame)) for split in task.split_names()[1:]]
    names = list(rows[0][1])
    print("| split | " + " | ".join(names) + " |\n" + "|---" * (1 + len(names)) + "|")
    for split, values in rows:
        print(f"| {split} | " + " | ".join(f"{values[n]:.4f}" for n in names) + " |")


def cli():
    """The seq-bouncing-balls-baselines command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
