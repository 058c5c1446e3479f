"""Hyperparameter grids in FIND's format: a JSON object mapping a fairseq flag (no leading --) to a list of values
or one value. ``true`` adds a bare flag, ``false`` omits it; the runs are the cartesian product of the lists."""
import itertools
import json

from seq_cli import UsageError

SCALARS = (str, int, float, bool)


def load_grid(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as err:
        raise UsageError(f"grid {path}: {err.strerror}") from None
    try:
        grid = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"grid {path}: not valid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    if not isinstance(grid, dict) or not grid:
        raise UsageError(f"grid {path}: must be a non-empty JSON object of flag -> value(s)")
    for key, value in grid.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            raise UsageError(f"grid {path}: key {key!r} has an empty list")
        for v in values:
            if not isinstance(v, SCALARS):
                raise UsageError(f"grid {path}: key {key!r} has a value of unsupported type {type(v).__name__}")
        if key.startswith("-"):
            raise UsageError(f"grid {path}: key {key!r} must be written without leading dashes")
    return grid


def expand(grid):
    """Every combination, as a list of {flag: value} dicts in a stable order (the grid's key order)."""
    axes = [(key, value if isinstance(value, list) else [value]) for key, value in grid.items()]
    return [dict(zip([k for k, _ in axes], combo)) for combo in itertools.product(*[v for _, v in axes])]


def render(config):
    """{flag: value} -> fairseq argument list; True is a bare flag, False is left out."""
    args = []
    for key, value in config.items():
        if value is True:
            args.append(f"--{key}")
        elif value is not False:
            args += [f"--{key}", str(value)]
    return args
