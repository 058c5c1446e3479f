"""One ordinary fairseq checkpoint per seed out of a ``--arch seed_ensemble`` checkpoint.

    python -m tools.split_ensemble runs/ens/checkpoint_last.pt --out 'runs/seed{seed}/checkpoint_last.pt'

Seed s's checkpoint holds its slice of every stacked parameter and of Adam's state, and the configuration of a
single run with ``--arch <ensemble arch> --seed s`` (``--clip-norm`` back on the trainer), so stock
``fairseq-generate``, ``tools.fpa dump`` and a resumed single ``fairseq-train`` read it with ``--user-dir`` only.
Existing outputs are kept unless ``--overwrite``; nothing is written unless every seed's output can be.
"""
import argparse
import copy
import os

from seq_cli import OneLineArgumentParser, UsageError, check_input_file, command_name, console
from tools.atomic_files import save_torch

PROG = command_name("python -m tools.split_ensemble")
STACKED = "stacked."


def unstacked_name(name):
    return name[len(STACKED):].replace("__", ".")


def seed_state(state, k, seed):
    """Seed ``seed`` (the k-th of the ensemble) of an ensemble checkpoint's ``state``, as a single run's state."""
    ensemble_args = state["cfg"]["model"]
    args = argparse.Namespace(**{key: value for key, value in vars(ensemble_args).items()
                                 if not key.startswith("ensemble_")})
    args.arch = args._name = ensemble_args.ensemble_arch
    args.seed = seed
    cfg = copy.deepcopy({key: value for key, value in state["cfg"].items() if key != "model"})  # plain dicts
    cfg["model"] = args
    cfg["common"]["seed"] = seed
    cfg["optimization"]["clip_norm"] = getattr(ensemble_args, "clip_norm", 0.0)
    out = {key: value for key, value in state.items() if key not in ("cfg", "model", "last_optimizer_state")}
    out["cfg"] = cfg
    out["model"] = {unstacked_name(name): value[k].clone() for name, value in state["model"].items()}
    optimizer = state.get("last_optimizer_state")
    if optimizer is not None:
        out["last_optimizer_state"] = {
            "param_groups": copy.deepcopy(optimizer["param_groups"]),
            "state": {i: {key: value[k].clone() if getattr(value, "dim", lambda: 0)() > 0 else value
                          for key, value in per_parameter.items()}
                      for i, per_parameter in optimizer["state"].items()}}
    return out


def split(checkpoint, pattern, overwrite=False):
    """Write one checkpoint per seed to ``pattern.format(seed=s)``; return {seed: path}."""
    if "{seed}" not in pattern:
        raise UsageError(f"--out {pattern!r} must contain {{seed}}, so that each seed gets its own file")
    check_input_file(checkpoint, "checkpoint")
    from seq_plugins.checkpoint_safety import checkpoint_problem

    problem = checkpoint_problem(checkpoint)
    if problem:
        raise UsageError(f"checkpoint {checkpoint}: {problem}")
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model_args = (state.get("cfg") or {}).get("model")
    # an ensemble stores its model config as an argparse Namespace (arch); models built from a dataclass store a
    # dict (_name)
    arch = model_args.get("_name") if isinstance(model_args, dict) else getattr(model_args, "arch", None)
    if arch != "seed_ensemble":
        raise UsageError(f"checkpoint {checkpoint}: not a seed_ensemble checkpoint (its arch is {arch!r}); "
                         "nothing to split")
    from seq_plugins.models.seed_ensemble import parse_seeds

    seeds = parse_seeds(model_args.ensemble_seeds)
    paths = {seed: pattern.format(seed=seed) for seed in seeds}
    existing = [path for path in paths.values() if os.path.exists(path)]
    if existing and not overwrite:
        raise UsageError(f"{existing[0]} exists ({len(existing)} of the {len(seeds)} outputs do); "
                         "pass --overwrite to replace them")
    for k, (seed, path) in enumerate(paths.items()):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        save_torch(seed_state(state, k, seed), path)
    return paths


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="a checkpoint written by fairseq-train --arch seed_ensemble")
    parser.add_argument("--out", required=True, help="path of each seed's checkpoint, with {seed} in it")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    for seed, path in split(args.checkpoint, args.out, args.overwrite).items():
        print(f"seed {seed}: {path}")


def cli():
    """The seq-split-ensemble command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
