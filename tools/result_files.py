"""The result file of one finished run: the small JSON the claims ledger (tools/ledger.py) is built from.

    docs/results/<study>/runs/<cell>/seed<N>.json

holds exactly the keys of ``KEYS``: the study and cell, the seed, the cell's configuration (``config``: what the
cell fixes, e.g. its training budget), the final ``metrics``, the training ``curve`` at its logging interval
(``{"x": ..., "y": ..., "points": [[x, y], ...]}``), the ``commands`` that made it, the ``commit`` they ran at
("+changes" when the work tree differed), and the CPU and wall seconds. Written whole or not at all.
"""
import json
import os
import resource
import subprocess
import time

from seq_cli import UsageError
from tools.atomic_files import write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "results")
KEYS = ("study", "cell", "seed", "config", "metrics", "curve", "commands", "commit", "cpu_s", "wall_s", "threads")


def timed(command, log, env, cwd=ROOT, append=True):
    """Run ``command`` with stdout and stderr into ``log``; (exit status, CPU seconds of it and its children, wall
    seconds)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    with open(log, "a" if append else "w") as f:
        status = subprocess.run(command, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT, check=False).returncode
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return status, cpu, time.monotonic() - start


def result_path(study, cell, seed, results=RESULTS):
    return os.path.join(results, study, "runs", cell, f"seed{seed}.json")


def commit():
    """HEAD's commit, with "+changes" when tracked files differ from it."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return head + ("+changes" if dirty else "") if head else "unknown"


def relative_command(command):
    """A command with this checkout's absolute paths made relative to it, so that it reads the same anywhere."""
    return [os.path.relpath(a, ROOT) if os.path.isabs(a) and a.startswith(ROOT) else a for a in command]


def write_result(path, **record):
    missing, unknown = set(KEYS) - set(record), set(record) - set(KEYS)
    if missing or unknown:
        raise ValueError(f"result record: missing {sorted(missing)}, unknown {sorted(unknown)}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, {key: record[key] for key in KEYS})


def read_result(path, study, cell):
    """The record of ``path``; a UsageError names the file when it is truncated or not JSON, has missing or
    unknown keys, or belongs to another study, cell or seed than its path says."""
    where = os.path.relpath(path, ROOT) if path.startswith(ROOT) else path
    try:
        with open(path) as f:
            record = json.load(f)
    except ValueError as err:
        raise UsageError(f"{where}: not a whole JSON file ({err})") from None
    except OSError as err:
        raise UsageError(f"{where}: {err.strerror}") from None
    if not isinstance(record, dict):
        raise UsageError(f"{where}: expected a JSON object")
    unknown, missing = sorted(set(record) - set(KEYS)), sorted(set(KEYS) - set(record))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (a result file has {', '.join(KEYS)})")
    if missing:
        raise UsageError(f"{where}: missing key {missing[0]!r}")
    seed = os.path.basename(path)[len("seed"):-len(".json")]
    if (record["study"], record["cell"], str(record["seed"])) != (study, cell, seed):
        raise UsageError(f"{where}: holds {record['study']}/{record['cell']} seed {record['seed']}, not "
                         f"{study}/{cell} seed {seed} as its path says")
    return record


def read_cell(study, cell, results=RESULTS):
    """The records of one cell, by seed."""
    folder = os.path.join(results, study, "runs", cell)
    if not os.path.isdir(folder):
        return []
    names = sorted((f for f in os.listdir(folder) if f.startswith("seed") and f.endswith(".json")),
                   key=lambda f: int(f[4:-5]) if f[4:-5].isdigit() else -1)
    return [read_result(os.path.join(folder, name), study, cell) for name in names]
