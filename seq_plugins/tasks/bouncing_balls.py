"""``--task bouncing_balls``: next-frame prediction on videos of balls bouncing in a box, trained with
``--train-balls`` (4) and tested with more (splits ``test5``, ``test6``): RIM's and RigLSTM's out-of-distribution
video test. Choices and their reasons: docs/riglstm.md, "Bouncing balls".

Balls of equal radius and mass move in the unit box; collisions with the walls and with each other are elastic.
Each frame is rendered as an R x R grey image (the share of each pixel a ball covers, approximated from the distance
of the pixel centre to the ball centre); step t reads frame t and is scored on frame t + 1.
"""
from dataclasses import dataclass

import numpy as np
import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks import register_task

from preprocess.bouncing_balls import BouncingBallsOptions, check_options
from seq_cli import UsageError
from seq_plugins.tasks.labelled_sequences import LabelledSequences, LabelledSequenceTask

SPLIT_SEEDS = {"train": 0, "valid": 1}  # test<n> uses seed offset 100 + n


def initial_state(rng, num_balls, radius, speed, max_tries=10000):
    """Positions (num_balls, 2) inside the box without overlaps (rejection sampling) and velocities of the same speed
    in uniformly random directions."""
    positions = []
    for _ in range(max_tries):
        candidate = rng.uniform(radius, 1 - radius, size=2)
        if all(np.hypot(*(candidate - p)) >= 2 * radius for p in positions):
            positions.append(candidate)
            if len(positions) == num_balls:
                angles = rng.uniform(0, 2 * np.pi, size=num_balls)
                return np.array(positions), speed * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    raise UsageError(f"cannot place {num_balls} balls of radius {radius} in the unit box without overlap")


def simulate(positions, velocities, frames, radius, substeps):
    """Positions and velocities (videos, frames, balls, 2) of every frame, from the first frame's positions and
    velocities (videos, balls, 2; velocity = distance per frame), integrated in ``substeps`` steps per frame. Walls
    mirror the position and the velocity; touching balls that approach each other exchange the velocity components
    along the line of their centres (equal masses), which conserves their energy and momentum exactly."""
    pos, vel = positions.astype(np.float64).copy(), velocities.astype(np.float64).copy()
    num_balls = pos.shape[1]
    positions_per_frame = np.empty((pos.shape[0], frames) + pos.shape[1:])
    velocities_per_frame = np.empty_like(positions_per_frame)
    dt = 1.0 / substeps
    for frame in range(frames):
        positions_per_frame[:, frame], velocities_per_frame[:, frame] = pos, vel
        for _ in range(substeps):
            pos += dt * vel
            below, above = pos < radius, pos > 1 - radius  # the walls: mirror what went through
            pos = np.where(below, 2 * radius - pos, np.where(above, 2 * (1 - radius) - pos, pos))
            vel = np.where(below | above, -vel, vel)
            for i in range(num_balls):
                for j in range(i + 1, num_balls):
                    delta = pos[:, j] - pos[:, i]
                    distance2 = (delta ** 2).sum(-1, keepdims=True)
                    approach = ((vel[:, j] - vel[:, i]) * delta).sum(-1, keepdims=True)
                    hit = (distance2 < (2 * radius) ** 2) & (approach < 0)
                    exchange = np.where(hit, approach / np.maximum(distance2, 1e-12), 0.0) * delta
                    vel[:, i] += exchange
                    vel[:, j] -= exchange
    return positions_per_frame, velocities_per_frame


def render(trajectory, radius, resolution):
    """Grey frames (videos, frames, resolution^2) float32 in [0, 1]: per pixel, the brightest ball, each ball a disc
    whose edge is smoothed over one pixel (clip(r - d + 1/2) in pixel units, about the covered share)."""
    centres = ((np.arange(resolution) + 0.5) / resolution).astype(np.float32)
    trajectory = trajectory.astype(np.float32)
    frames = np.zeros(trajectory.shape[:2] + (resolution, resolution), dtype=np.float32)
    for ball in range(trajectory.shape[2]):
        x, y = trajectory[:, :, ball, 0, None, None], trajectory[:, :, ball, 1, None, None]
        distance = np.sqrt((centres[None, None, :, None] - y) ** 2 + (centres[None, None, None, :] - x) ** 2)
        np.maximum(frames, np.clip((radius - distance) * resolution + 0.5, 0, 1), out=frames)
    return frames.reshape(frames.shape[0], frames.shape[1], -1)


def bouncing_ball_trajectories(size, num_balls, frames, radius, speed, substeps, seed):
    rng = np.random.default_rng(seed)
    starts = [initial_state(rng, num_balls, radius, speed) for _ in range(size)]
    return simulate(np.stack([s[0] for s in starts]), np.stack([s[1] for s in starts]), frames, radius, substeps)[0]


@dataclass
class BouncingBallsConfig(FairseqDataclass, BouncingBallsOptions):
    """The options of preprocess.bouncing_balls, where commands read and check them without loading fairseq."""


@register_task("bouncing_balls", dataclass=BouncingBallsConfig)
class BouncingBallsTask(LabelledSequenceTask):
    task_name = "bouncing_balls"
    num_input_tokens = 0
    labels_per_step = True

    def __init__(self, cfg):
        super().__init__(cfg)
        self.test_balls = check_options(cfg)
        self.input_features = self.num_classes = cfg.resolution ** 2  # one input and one logit per pixel

    def split_names(self):
        return list(SPLIT_SEEDS) + [f"test{n}" for n in self.test_balls]

    def make_split(self, split):
        cfg = self.cfg
        if split.startswith("test"):
            balls, size, offset = int(split[len("test"):]), cfg.test_size, 100 + int(split[len("test"):])
        else:
            balls, size, offset = cfg.train_balls, getattr(cfg, f"{split}_size"), SPLIT_SEEDS[split]
        trajectory = bouncing_ball_trajectories(size, balls, cfg.frames, cfg.radius, cfg.speed, cfg.substeps,
                                                cfg.data_seed * 1000 + offset)
        videos = torch.from_numpy(render(trajectory, cfg.radius, cfg.resolution))
        return LabelledSequences(videos[:, :-1], videos[:, 1:])
