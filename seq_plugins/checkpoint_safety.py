"""Let fairseq read its checkpoints under torch >= 2.6, whose torch.load defaults to weights_only=True, and let our
tools turn a file that is not a checkpoint into one line naming it and why.

The restricted unpickler stays on; we only allowlist the globals fairseq checkpoints hold beyond tensors and
builtins. Checkpoints of dataclass-configured models (ours) hold none; those of legacy argparse models (stock
lstm, fconv, transformer, as FIND uses them) store their configuration as an argparse.Namespace.
"""
import argparse
import pickle
import re
import zipfile

import torch

from seq_cli import UsageError, file_problem

FAIRSEQ_CHECKPOINT_GLOBALS = (argparse.Namespace,)
NOT_TORCH = "truncated or not a torch checkpoint"


def allow_fairseq_checkpoint_globals():
    torch.serialization.add_safe_globals(list(FAIRSEQ_CHECKPOINT_GLOBALS))


def checkpoint_problem(path):
    """Why the file at ``path`` is not a fairseq checkpoint that loads safely, or None if it is one."""
    problem = file_problem(path)
    if problem:
        return problem
    try:
        # mmap maps the tensors instead of reading them, so this look costs little next to fairseq's own load
        # (torch maps only its zip format; older checkpoints are read whole)
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as err:
        refused = re.search(r"GLOBAL (\S+) (?:whose|was not)", str(err))
        return f"refused by the safe loader: it would call {refused.group(1)}" if refused else NOT_TORCH
    except Exception:  # anything else torch.load raises (zip reader, OSError of a seek, EOF) means the same
        return NOT_TORCH
    if not isinstance(state, dict) or "model" not in state:
        return "not a fairseq checkpoint (no 'model' key)"
    if state.get("cfg") is None and state.get("args") is None:
        return "not a fairseq checkpoint (no 'cfg' or 'args' key)"
    return None


def load_model_and_task(path, arg_overrides=None):
    """(model in eval mode, task) of the fairseq checkpoint at ``path``; a UsageError names the file and the reason
    when it is not one (checked before fairseq reads it)."""
    problem = checkpoint_problem(path)
    if problem:
        raise UsageError(f"checkpoint {path}: {problem}")
    from fairseq import checkpoint_utils

    models, _cfg, task = checkpoint_utils.load_model_ensemble_and_task([path], arg_overrides=arg_overrides)
    return models[0].eval(), task
