"""The options of ``--task bouncing_balls`` (seq_plugins/tasks/bouncing_balls.py) and their checks, in a module that
loads neither torch nor fairseq: tools.bouncing_balls_baselines takes the same options and checks them before it
loads the task."""
from dataclasses import dataclass, field

from seq_cli import UsageError, parse_int_ranges


@dataclass
class BouncingBallsOptions:
    train_balls: int = field(default=4, metadata={"help": "balls in the training and validation videos"})
    test_balls: str = field(default="5,6", metadata={"help": "ball counts of the test splits test<n>"})
    frames: int = field(default=30, metadata={"help": "frames per video (a video of F frames is F - 1 predictions)"})
    resolution: int = field(default=16, metadata={"help": "frames are resolution x resolution pixels"})
    radius: float = field(default=0.1, metadata={"help": "ball radius (the box is the unit square)"})
    speed: float = field(default=0.05, metadata={"help": "distance a ball travels per frame"})
    substeps: int = field(default=10, metadata={"help": "integration steps per frame"})
    train_size: int = field(default=2000, metadata={"help": "training videos"})
    valid_size: int = field(default=200, metadata={"help": "validation videos"})
    test_size: int = field(default=200, metadata={"help": "videos of each test split"})
    data_seed: int = field(default=1, metadata={"help": "seed of the generated videos (split s uses data_seed * 1000 "
                                                        "+ s; test<n> s = 100 + n)"})


def check_options(cfg):
    """Check the options ``cfg`` (a UsageError names one out of its range); the ball counts of the test splits."""
    for name in ("train_balls", "resolution", "substeps", "train_size", "valid_size", "test_size"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
    if cfg.frames < 2:
        raise UsageError(f"--frames must be at least 2 (one frame to read, one to predict), got {cfg.frames}")
    if not 0 < cfg.radius < 0.5:
        raise UsageError(f"--radius must be between 0 and 0.5 (the box is the unit square), got {cfg.radius}")
    test_balls = parse_int_ranges(cfg.test_balls, "--test-balls")
    # collisions share the energy, so a ball can reach sqrt(balls) x the initial speed; the wall mirror needs
    # every substep to move less than the free width
    fastest = cfg.speed * max(test_balls + [cfg.train_balls]) ** 0.5 / cfg.substeps
    if not (cfg.speed >= 0 and fastest < 1 - 2 * cfg.radius):
        raise UsageError(f"--speed {cfg.speed} is negative or too fast for --substeps {cfg.substeps}: "
                         f"sqrt(balls) * speed / substeps must stay below 1 - 2 * radius")
    return test_balls
