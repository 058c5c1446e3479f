"""Side-by-side runs of the original code of each family next to ours (``python -m tools.compare_original``).

A family module names the public repository and commit it was written against (``REPOSITORY``, ``COMMIT``), the
files of that commit it runs with their SHA-256 (``FILES``), adds its options (``add_arguments``) and runs both
sides (``run(args, checkout)``). The original's code never enters this repository: it runs from the checkout path
the user gives, patched at run time only where current torch requires it (each module's ``RUNTIME_PATCHES`` says
which, and docs/originals.md lists them).
"""
import hashlib
import importlib
import os
import sys

from seq_cli import UsageError

FAMILIES = ("meta_seq2seq", "find", "transductions", "lookup25")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def seeded_command(checkout, seed, script, script_args=(), hash_seed=0):
    """(command, environment) running an original's ``script`` through tools.originals.run_seeded: one thread,
    ``PYTHONHASHSEED`` fixed, the script's own arguments after "--" (so a --seed of the script stays its own)."""
    command = [sys.executable, "-m", "tools.originals.run_seeded", "--checkout", checkout, "--seed", str(seed),
               script, "--", *script_args]
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed), **{name: "1" for name in THREAD_VARIABLES},
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    return command, env


def family(name):
    if name not in FAMILIES:
        raise UsageError(f"unknown family {name!r}; choose from {', '.join(FAMILIES)}")
    return importlib.import_module(f"tools.originals.{name}")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def verify_checkout(module, path, allow_other_commit=False):
    """The checkout's absolute path; a UsageError names the first expected file that is missing or, unless
    ``allow_other_commit``, whose content is not that of the expected commit."""
    where = f"{module.REPOSITORY} at commit {module.COMMIT[:7]}"
    if not os.path.isdir(path):
        raise UsageError(f"--original {path}: not a directory (expected a checkout of {where})")
    for name, digest in module.FILES.items():
        file = os.path.join(path, name)
        if not os.path.isfile(file):
            raise UsageError(f"--original {path}: {name} is missing (expected a checkout of {where})")
        if not allow_other_commit and sha256(file) != digest:
            raise UsageError(f"--original {path}: {name} differs from {where} (sha256 {digest[:12]}...); "
                             "--allow-other-commit runs it anyway")
    return os.path.abspath(path)
