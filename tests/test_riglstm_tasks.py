"""Copying and sequential-MNIST tasks, the riglstm / rim / lstm_labeller architectures and their criterion,
through stock fairseq-train and fairseq-validate."""
import gzip
import os
import pickle
import re

import numpy as np
import pytest
import torch

from seq_cli import UsageError
from seq_plugins.tasks.copying import copying_data
from seq_plugins.tasks.seq_mnist import load_images, pixel_sequences, resize_nearest
from tests.conftest import run_cli

TINY_COPYING = ["--task", "copying", "--dormant", "3", "--test-dormant", "9", "--train-size", "128",
                "--valid-size", "32", "--test-size", "32"]
TINY_CELLS = ["--num-cells", "4", "--cell-size", "12", "--num-active", "3", "--num-views", "3", "--top-views", "2",
              "--top-cells", "2", "--view-size", "8", "--attention-size", "8"]
TRAIN = ["--user-dir", "seq_plugins", "--criterion", "label_cross_entropy", "--optimizer", "adam", "--lr", "1e-2",
         "--batch-size", "32", "--seed", "3", "--num-workers", "0", "--no-progress-bar", "--log-format", "simple",
         "--no-epoch-checkpoints"]


def test_copying_sequences():
    inputs, targets = copying_data(5, dormant=7, seed=3)
    assert inputs.shape == targets.shape == (5, 27)
    symbols = inputs[:, :10]
    assert ((symbols >= 1) & (symbols <= 8)).all()
    assert (inputs[:, 10:16] == 0).all() and (inputs[:, 16] == 9).all() and (inputs[:, 17:] == 0).all()
    assert (targets[:, :17] == 0).all() and torch.equal(targets[:, 17:], symbols)
    assert torch.equal(copying_data(5, 7, seed=3)[0], inputs)
    assert not torch.equal(copying_data(5, 7, seed=4)[0], inputs)


def test_nearest_resizing_and_binarization():
    image = np.arange(16, dtype=float).reshape(1, 4, 4)
    assert np.array_equal(resize_nearest(image, 4), image)
    assert np.array_equal(resize_nearest(image, 2), image[:, [1, 3]][:, :, [1, 3]])  # pixel centres 1 and 3
    small = np.array([[[1.0, 0.2], [0.7, 0.0]]])
    assert pixel_sequences(small, 2).tolist() == [[1, 0, 1, 0]]  # binarized at 0.5, row by row
    assert pixel_sequences(small, 4).reshape(4, 4).tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0],
                                                               [1, 1, 0, 0]]
    # 2 -> 3: output pixels 0, 1, 2 read input pixels floor((i + 0.5) * 2 / 3) = 0, 1, 1
    assert pixel_sequences(small, 3).reshape(3, 3).tolist() == [[1, 0, 0], [1, 0, 0], [1, 0, 0]]


def test_mnist_pickle_is_read_without_running_code(tmp_path):
    images = np.zeros((2, 4), dtype=np.float32)
    good = tmp_path / "mnist.pkl.gz"
    with gzip.open(good, "wb") as f:
        pickle.dump(((images, np.array([1, 2])), (images, np.array([3, 4])), (images[:1], np.array([5]))), f)
    train_x, train_y, test_x, test_y = load_images(str(good))
    assert train_x.shape == (4, 2, 2) and train_y.tolist() == [1, 2, 3, 4] and test_y.tolist() == [5]
    evil = tmp_path / "evil.pkl.gz"
    with gzip.open(evil, "wb") as f:
        pickle.dump(os.system, f)
    with pytest.raises(UsageError, match="refusing posix.system"):
        load_images(str(evil))


def validation_losses(log):
    return [float(x) for x in re.findall(r"valid on 'valid' subset \| loss \S+ \| ce (\S+)", log)]


@pytest.mark.parametrize("arch,flags", [("riglstm", TINY_CELLS), ("rim", TINY_CELLS[:6]),
                                        ("lstm_labeller", ["--hidden-size", "48"])])
def test_short_copying_training_lowers_the_loss_and_is_reproducible(tmp_path, arch, flags):
    args = ["fairseq-train", *TRAIN, *TINY_COPYING, "--arch", arch, *flags, "--max-epoch", "3"]
    first = run_cli([*args, "--save-dir", str(tmp_path / "a")])
    assert first.returncode == 0, first.stderr[-2000:]
    losses = validation_losses(first.stdout + first.stderr)
    assert len(losses) == 3 and losses[-1] < losses[0] < np.log(9)  # below a uniform guess over 9 classes
    if arch == "riglstm":
        second = run_cli([*args, "--save-dir", str(tmp_path / "b")])
        assert validation_losses(second.stdout + second.stderr) == losses
        # the test split is longer than anything seen in training, and the checkpoint loads safely
        test = run_cli(["fairseq-validate", "--user-dir", "seq_plugins", *TINY_COPYING, "--path",
                        str(tmp_path / "a" / "checkpoint_best.pt"), "--valid-subset", "test", "--batch-size", "32"])
        assert test.returncode == 0, test.stderr[-2000:]
        assert re.search(r"valid on 'test' subset \| loss \S+ \| ce \S+ \| acc \S+ \| seq_acc", test.stdout)
        import seq_plugins  # noqa: F401  (allowlists fairseq's checkpoint globals)

        state = torch.load(tmp_path / "a" / "checkpoint_best.pt", weights_only=True)
        assert "recurrence.gates.weight" in state["model"]


def test_seq_mnist_on_digits_trains_and_tests_at_other_resolutions(tmp_path):
    task = ["--task", "seq_mnist", "--mnist-path", "digits", "--train-resolution", "6", "--test-resolutions", "6,8",
            "--max-train-examples", "256", "--max-test-examples", "100"]
    result = run_cli(["fairseq-train", *TRAIN, *task, "--arch", "riglstm", *TINY_CELLS, "--max-epoch", "1",
                      "--save-dir", str(tmp_path), "--best-checkpoint-metric", "acc",
                      "--maximize-best-checkpoint-metric"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"train \| epoch 001 .*\| num_updates 8 ", result.stdout + result.stderr)  # 256 / 32
    test = run_cli(["fairseq-validate", "--user-dir", "seq_plugins", *task, "--path", str(tmp_path / "checkpoint_best.pt"),
                    "--valid-subset", "test6,test8", "--batch-size", "50"])
    assert test.returncode == 0, test.stderr[-2000:]
    for resolution in (6, 8):
        assert re.search(rf"valid on 'test{resolution}' subset \| loss \S+ \| ce \S+ \| acc ", test.stdout)


def test_seq_mnist_splits(tmp_path):
    from seq_plugins.tasks.seq_mnist import SeqMNISTConfig, SeqMNISTTask

    task = SeqMNISTTask(SeqMNISTConfig(mnist_path="digits", train_resolution=6, test_resolutions="7-8"))
    train, valid, test = (task.load_dataset(s) for s in ("train", "valid", "test8"))
    assert (len(train), len(valid), len(test)) == (1198, 299, 300)
    assert train.inputs.shape[1] == 36 and test.inputs.shape[1] == 64 and task.load_dataset("test7").inputs.shape[1] == 49
    limited = SeqMNISTTask(SeqMNISTConfig(mnist_path="digits", train_resolution=6, max_train_examples=50,
                                          max_valid_examples=20))
    assert (len(limited.load_dataset("train")), len(limited.load_dataset("valid"))) == (50, 20)
    assert torch.equal(limited.load_dataset("valid").inputs, valid.inputs[:20])  # a prefix of the same split
    with pytest.raises(UsageError, match="no split 'test9'"):
        task.load_dataset("test9")


def test_bad_options_are_usage_errors():
    from seq_plugins.models.recurrent_labeller import RigLSTMConfig, riglstm_cell
    from seq_plugins.tasks.copying import CopyingConfig, CopyingTask

    with pytest.raises(UsageError, match="--dormant must be at least 1, got 0"):
        CopyingTask(CopyingConfig(dormant=0))
    with pytest.raises(UsageError, match="top_cells must be between 1 and 5, got 6"):
        riglstm_cell(RigLSTMConfig(top_cells=6), input_size=4)


def test_bad_input_is_one_line_in_fairseq_train(tmp_path):
    result = run_cli(["fairseq-train", *TRAIN, "--task", "seq_mnist", "--mnist-path", "/nonexistent/mnist.pkl.gz",
                      "--arch", "rim", "--max-epoch", "1", "--save-dir", str(tmp_path)])
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith(
        "--mnist-path /nonexistent/mnist.pkl.gz: not a readable mnist.pkl.gz ([Errno 2] No such file or directory: "
        "'/nonexistent/mnist.pkl.gz')")
    assert "Traceback" not in result.stderr
    assert not os.listdir(tmp_path)


def test_results_table_reads_fairseq_logs(tmp_path, capsys):
    from tools.riglstm_table import main

    line = "2026-01-01 | INFO | {0} | valid on '{0}' subset | loss 1 | ce {1} | acc {2} | seq_acc {3} | wps 0\n"
    run = tmp_path / "seq_mnist" / "rim"
    run.mkdir(parents=True)
    (run / "train.log").write_text("x | INFO | {'task': {'train_resolution': 14}}\n"
                                   + line.format("valid", 2.0, 0.25, 0.25) + line.format("valid", 1.5, 0.5, 0.5)
                                   + "x | INFO | train | epoch 002 | loss 1 | num_updates 30 | lr 1\n")
    (run / "test.log").write_text(line.format("test24", 1.9, 0.125, 0.125) + line.format("test14", 1.6, 0.375, 0.375))
    (tmp_path / "seq_mnist" / "riglstm").mkdir()  # started, not finished
    main([str(tmp_path)])
    out = capsys.readouterr().out
    assert "| rim | 30 | 0.5000 | 0.3750 | 0.1250 |" in out  # test splits in resolution order
    assert "not finished: riglstm" in out and "copying\n\n(no finished run)" in out
