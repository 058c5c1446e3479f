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


def write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file; on failure (a full disk) the temporary file is removed,
    ``path`` keeps its old content, and the OSError names ``path``."""
    partial = path + ".tmp"
    try:
        with open(partial, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible: a crash leaves the old file or this
        os.replace(partial, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise OSError(err.errno, err.strerror, path) from err


def write_json(path, data):
    write_text(path, json.dumps(data, indent=1))


def write_jsonl(path, records):
    write_text(path, "".join(json.dumps(record) + "\n" for record in records))
