"""Bouncing balls (--task bouncing_balls): the physics, the rendering, the splits, and next-frame prediction with the
labeller architectures through stock fairseq-train / fairseq-validate."""
import os
import re

import numpy as np
import pytest
import torch

from seq_cli import UsageError
from seq_plugins.tasks.bouncing_balls import (
    BouncingBallsConfig,
    BouncingBallsTask,
    bouncing_ball_trajectories,
    initial_state,
    render,
    simulate,
)
from tests.conftest import run_cli

RADIUS = 0.1


def random_start(seed, videos=64, balls=6, speed=0.08):
    rng = np.random.default_rng(seed)
    starts = [initial_state(rng, balls, RADIUS, speed) for _ in range(videos)]
    return np.stack([s[0] for s in starts]), np.stack([s[1] for s in starts])


def test_balls_stay_in_the_box_keep_their_energy_and_do_not_pass_through_each_other():
    positions, velocities = simulate(*random_start(1), frames=60, radius=RADIUS, substeps=10)
    assert positions.min() >= RADIUS and positions.max() <= 1 - RADIUS
    energy = (velocities ** 2).sum(axis=(2, 3))  # equal masses: kinetic energy is the sum of squared speeds
    np.testing.assert_allclose(energy, energy[:, :1].repeat(60, axis=1), rtol=1e-12)
    speeds = np.hypot(velocities[..., 0], velocities[..., 1])
    assert not np.allclose(speeds, 0.08)  # ball-ball collisions happened (they are what changes a speed)
    centres = positions[:, :, :, None] - positions[:, :, None]
    distance = np.hypot(centres[..., 0], centres[..., 1]) + np.eye(6) * 9
    assert distance.min() > 1.6 * RADIUS  # overlaps stay within a substep's travel of contact


def test_a_head_on_collision_swaps_the_velocities_and_a_wall_mirrors_them():
    positions = np.array([[[0.3, 0.5], [0.7, 0.5]]])
    velocities = np.array([[[0.05, 0.0], [-0.02, 0.0]]])
    _, v = simulate(positions, velocities, frames=5, radius=RADIUS, substeps=20)
    np.testing.assert_allclose(v[0, -1], [[-0.02, 0.0], [0.05, 0.0]])
    p, v = simulate(np.array([[[0.85, 0.5]]]), np.array([[[0.1, 0.0]]]), frames=2, radius=RADIUS, substeps=1)
    np.testing.assert_allclose(p[0, 1, 0], [0.85, 0.5])  # 0.95 mirrored at 0.9
    np.testing.assert_allclose(v[0, 1, 0], [-0.1, 0.0])


def test_generation_is_deterministic_by_seed():
    first = bouncing_ball_trajectories(8, 4, 12, RADIUS, 0.05, 5, seed=3)
    assert np.array_equal(first, bouncing_ball_trajectories(8, 4, 12, RADIUS, 0.05, 5, seed=3))
    assert not np.array_equal(first, bouncing_ball_trajectories(8, 4, 12, RADIUS, 0.05, 5, seed=4))


def test_rendering():
    frame = render(np.array([[[[0.25, 0.75]]]]), radius=0.25, resolution=8).reshape(8, 8)
    # in pixel units the ball is a disc of radius 2 around (x, y) = (2, 6): column 2, row 6
    assert (frame[5:7, 1:3] == 1).all()  # the four pixels around the centre are inside
    assert 0 < frame[4, 3] < 1  # the edge is grey
    assert frame[:4].sum() == frame[:, 4:].sum() == 0  # far from the ball
    assert frame.sum() == pytest.approx(np.pi * 2 ** 2, rel=0.05)  # grey levels add up to the disc's area
    two = render(np.array([[[[0.25, 0.75], [0.75, 0.25]]]]), radius=0.25, resolution=8).reshape(8, 8)
    assert np.array_equal(two[4:, :4], frame[4:, :4]) and (two[:4, :4] == 0).all()
    np.testing.assert_allclose(two[:4, 4:], np.rot90(frame[4:, :4], 2), atol=1e-6)  # the second ball, mirrored


def test_splits_read_a_frame_and_predict_the_next():
    task = BouncingBallsTask(BouncingBallsConfig(frames=6, resolution=8, train_size=5, valid_size=3, test_size=4,
                                                 test_balls="5-6"))
    assert task.split_names() == ["train", "valid", "test5", "test6"]
    train, test6 = task.load_dataset("train"), task.load_dataset("test6")
    assert train.inputs.shape == train.targets.shape == (5, 5, 64) and test6.inputs.shape == (4, 5, 64)
    assert torch.equal(train.inputs[:, 1:], train.targets[:, :-1])
    # a frame of n balls shows about n discs' worth of light (discs of 0.1 cover pi / 100 of the box each)
    assert abs(test6.inputs.sum(-1).mean() / 64 - 6 * np.pi * RADIUS ** 2) < 0.05
    assert abs(train.inputs.sum(-1).mean() / 64 - 4 * np.pi * RADIUS ** 2) < 0.05
    with pytest.raises(UsageError, match="no split 'test4'"):
        task.load_dataset("test4")


@pytest.mark.parametrize("overrides,message", [
    (dict(radius=0.5), "--radius must be between 0 and 0.5"),
    (dict(speed=0.4, substeps=1), "--speed 0.4 is negative or too fast for --substeps 1"),
    (dict(frames=1), "--frames must be at least 2"),
    (dict(train_balls=30), None),
])
def test_bad_options_are_usage_errors(overrides, message):
    if message:
        with pytest.raises(UsageError, match=message):
            BouncingBallsTask(BouncingBallsConfig(**overrides))
    else:  # thirty balls do not fit: the error is raised when the split is made
        task = BouncingBallsTask(BouncingBallsConfig(**overrides, train_size=1))
        with pytest.raises(UsageError, match="cannot place 30 balls of radius 0.1"):
            task.load_dataset("train")


TINY = ["--task", "bouncing_balls", "--frames", "8", "--resolution", "8", "--train-size", "96",
        "--valid-size", "32", "--test-size", "32", "--test-balls", "5,6", "--speed", "0.1"]
TRAIN = ["--user-dir", "seq_plugins", "--criterion", "label_cross_entropy", "--optimizer", "adam", "--lr", "1e-2",
         "--batch-size", "32", "--seed", "3", "--num-workers", "0", "--no-progress-bar", "--log-format", "simple",
         "--no-epoch-checkpoints", "--embed-dim", "16"]
CELLS = {"riglstm": ["--num-cells", "4", "--cell-size", "8", "--num-active", "3", "--num-views", "3",
                     "--top-views", "2", "--top-cells", "2", "--view-size", "8", "--attention-size", "8"],
         "rim": ["--num-cells", "4", "--cell-size", "8", "--num-active", "3"],
         "lstm_labeller": ["--hidden-size", "32"], "grid_lstm": ["--hidden-size", "16", "--num-layers", "2"]}
FRAME_METRICS = r"valid on '{}' subset \| loss \S+ \| ce (\S+) \| frame_bce (\S+) \| frame_sqerr (\S+)"


@pytest.mark.parametrize("arch", ["riglstm", "rim", "lstm_labeller", "grid_lstm"])
def test_next_frame_training_lowers_the_loss_and_tests_on_more_balls(tmp_path, arch):
    args = ["fairseq-train", *TRAIN, *TINY, "--arch", arch, *CELLS[arch], "--max-epoch", "4"]
    first = run_cli([*args, "--save-dir", str(tmp_path / "a")])
    assert first.returncode == 0, first.stderr[-2000:]
    log = first.stdout + first.stderr
    valid = [tuple(map(float, m)) for m in re.findall(FRAME_METRICS.format("valid"), log)]
    assert len(valid) == 4 and valid[-1][1] < valid[0][1]  # per-frame BCE falls
    assert valid[-1][1] == pytest.approx(valid[-1][0] * 64, rel=1e-3)  # a frame's BCE is 64 pixels' ce
    if arch != "riglstm":
        return
    test = run_cli(["fairseq-validate", "--user-dir", "seq_plugins", *TINY, "--path",
                    str(tmp_path / "a" / "checkpoint_best.pt"), "--valid-subset", "test5,test6", "--batch-size", "32"])
    assert test.returncode == 0, test.stderr[-2000:]
    for split in ("test5", "test6"):
        assert re.search(FRAME_METRICS.format(split), test.stdout)
    import seq_plugins  # noqa: F401  (allowlists fairseq's checkpoint globals)

    state = torch.load(tmp_path / "a" / "checkpoint_best.pt", weights_only=True)
    assert state["model"]["encode_inputs.weight"].shape == (16, 64)  # a linear encoder of the 8 x 8 frame
    assert state["model"]["output_projection.weight"].shape == (64, 4 * 8)  # a logit per pixel of the next frame


def test_bad_input_is_one_line_in_fairseq_train(tmp_path):
    result = run_cli(["fairseq-train", *TRAIN, *TINY[:-4], "--radius", "0.7", "--arch", "rim", "--max-epoch", "1",
                      "--save-dir", str(tmp_path)])
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith(
        "--radius must be between 0 and 0.5 (the box is the unit square), got 0.7")
    assert "Traceback" not in result.stderr and not os.listdir(tmp_path)


def test_results_table_reads_frame_metrics(tmp_path, capsys):
    from tools.riglstm_table import main

    line = "x | INFO | {0} | valid on '{0}' subset | loss 1 | ce {1} | frame_bce {2} | frame_sqerr {3} | wps 0\n"
    run = tmp_path / "bouncing_balls" / "rim"
    run.mkdir(parents=True)
    (run / "train.log").write_text("x | INFO | {'task': {'train_balls': 3, 'test_balls': '5,6'}}\n"
                                   + line.format("valid", 0.3, 70.0, 9.0) + line.format("valid", 0.2, 50.0, 6.5)
                                   + "x | INFO | train | epoch 002 | loss 1 | num_updates 30 | lr 1\n")
    (run / "test.log").write_text(line.format("test6", 0.4, 90.0, 12.0) + line.format("test5", 0.3, 80.0, 10.0))
    main([str(tmp_path)])
    out = capsys.readouterr().out
    assert "| valid BCE per frame, 3 balls (best) |" in out  # the training condition of the runs' configuration
    assert "| rim | 30 | 50.0000 | 80.0000 / 10.0000 | 90.0000 / 12.0000 |" in out  # fewest balls first
    other = tmp_path / "bouncing_balls" / "lstm"
    other.mkdir()
    (other / "train.log").write_text("x | INFO | {'task': {'train_balls': 4}}\n")
    (other / "test.log").write_text(line.format("test5", 0.3, 80.0, 10.0))
    with pytest.raises(UsageError, match="^runs differ in train_balls: 4 in lstm; 3 in rim$"):
        main([str(tmp_path)])


def test_baselines(capsys):
    from tools.bouncing_balls_baselines import main

    small = ["--frames", "6", "--resolution", "8", "--train-size", "20", "--valid-size", "10", "--test-size", "10"]
    main([*small, "--speed", "0"])  # balls that never move: "no motion" is a perfect prediction
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[0] for row in rows] == ["| valid", "| test5", "| test6"]
    assert all(float(row[1]) == 0 for row in rows)
    main(small)
    for row in capsys.readouterr().out.splitlines()[2:]:
        no_motion, mean_sq, mean_bce, floor = map(float, row.strip(" |").split(" | ")[1:])
        assert 0 < no_motion < mean_sq and 0 < floor < mean_bce
