"""Let fairseq read its checkpoints under torch >= 2.6, whose torch.load defaults to weights_only=True.

The restricted unpickler stays on; we only allowlist the globals fairseq checkpoints hold beyond tensors and
builtins. Checkpoints of dataclass-configured models (ours) hold none; those of legacy argparse models (stock
lstm, fconv, transformer, as FIND uses them) store their configuration as an argparse.Namespace.
"""
import argparse

import torch

FAIRSEQ_CHECKPOINT_GLOBALS = (argparse.Namespace,)


def allow_fairseq_checkpoint_globals():
    torch.serialization.add_safe_globals(list(FAIRSEQ_CHECKPOINT_GLOBALS))
