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


def write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file; on failure (a full disk) the temporary file is removed,
    ``path`` keeps its old content, and the OSError names ``path``."""
    partial = path + ".tmp"
    try:
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible: a crash leaves the old file or this
        os.replace(partial, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise OSError(err.errno, err.strerror, path) from err


def save_torch(obj, path):
    """``torch.save`` whole or not at all; a failure (a full disk: torch reports it as a RuntimeError without the
    system's reason) is an OSError naming ``path``, and no temporary file is left."""
    import torch

    partial = path + ".tmp"
    try:
        with open(partial, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except (OSError, RuntimeError) as err:
        with contextlib.suppress(OSError):
            os.remove(partial)
        if isinstance(err, OSError):
            raise OSError(err.errno, err.strerror, path) from err
        free = os.statvfs(os.path.dirname(os.path.abspath(path)))
        reason = "No space left on device" if free.f_bavail * free.f_frsize < 1 << 20 else f"torch.save: {err}"
        raise OSError(None, reason, path) from err


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
