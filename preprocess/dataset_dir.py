"""Output directories of the data generators: written atomically, never refilled with other data.

Every generator writes ``<out>/config.json`` with the options that made the data. Re-running with the same
options is a no-op; other options, or a non-empty directory without config.json, are refused.
"""
import contextlib
import json
import os
import shutil
import tempfile

from seq_cli import UsageError

CONFIG_FILE = "config.json"


def holds_same_dataset(cfg, out):
    """True when ``out`` already holds exactly this data set; a UsageError when it holds anything else."""
    if not os.path.exists(out):
        return False
    if not os.path.isdir(out):
        raise UsageError(f"--out {out} exists and is not a directory")
    if not os.listdir(out):
        return False
    config_path = os.path.join(out, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise UsageError(f"--out {out} is not empty and holds no {CONFIG_FILE}; refusing to write into it")
    with open(config_path) as f:
        existing = json.load(f)
    differing = sorted(k for k in set(existing) | set(cfg) if existing.get(k) != cfg.get(k))
    if differing:
        details = "; ".join(f"{k}: {existing.get(k)!r} there, {cfg.get(k)!r} asked" for k in differing)
        raise UsageError(f"--out {out} already holds data made with other options ({details})")
    return True


@contextlib.contextmanager
def atomic_dataset_dir(cfg, out):
    """Yield a temporary sibling of ``out`` to fill; on success write config.json and move it into place.

    ``out`` must be absent or empty (call ``holds_same_dataset`` first); on any error the temporary is removed, and
    an OSError that names no file (a full disk) is raised naming ``out``.
    """
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out))}-", dir=parent)
    try:
        yield tmp
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            json.dump(cfg, f, indent=1)
        if os.path.isdir(out):
            os.rmdir(out)
        os.rename(tmp, out)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and err.filename is None:  # a failed write() (a full disk) names no file
            raise OSError(err.errno, err.strerror, out) from err
        raise
