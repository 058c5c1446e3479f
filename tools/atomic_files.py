"""Files written whole or not at all: a reader, or a run resumed after a kill, sees the old content or the new."""
import contextlib
import json
import os


def read_json(path):
    """The JSON at ``path``, or None when it is missing or unreadable (a run that never wrote it)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_through_partial(path, write):
    """Call ``write(f)`` on ``path + ".tmp"`` opened in binary mode, put it on disk and move it onto ``path``. On a
    failure (a full disk) the temporary file is removed, ``path`` keeps its old content, and an OSError names
    ``path``; torch.save reports a full disk as a RuntimeError without the system's reason, so the free space
    gives it."""
    partial = path + ".tmp"
    try:
        with open(partial, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible: a crash leaves the old file or this
        os.replace(partial, path)
    except (OSError, RuntimeError) as err:
        with contextlib.suppress(OSError):
            os.remove(partial)
        if isinstance(err, OSError):
            raise OSError(err.errno, err.strerror, path) from err
        free = os.statvfs(os.path.dirname(os.path.abspath(path)))
        reason = "No space left on device" if free.f_bavail * free.f_frsize < 1 << 20 else f"torch.save: {err}"
        raise OSError(None, reason, path) from err


def write_bytes(path, data):
    write_through_partial(path, lambda f: f.write(data))


def save_torch(obj, path):
    """``torch.save`` whole or not at all."""
    import torch

    write_through_partial(path, lambda f: torch.save(obj, f))


def write_text(path, text):
    write_bytes(path, text.encode())


def save_figure(fig, path, **options):
    """A matplotlib figure saved whole or not at all (its format from the file name)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format=os.path.splitext(path)[1].lstrip(".") or None, **options)
    write_bytes(path, buffer.getvalue())


def write_json(path, data):
    write_text(path, json.dumps(data, indent=1))


def write_jsonl(path, records):
    write_text(path, "".join(json.dumps(record) + "\n" for record in records))
