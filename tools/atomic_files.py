"""Files written whole or not at all: a reader, or a run resumed after a kill, sees the old content or the new."""
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
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def write_json(path, data):
    write_text(path, json.dumps(data, indent=1))


def write_jsonl(path, records):
    write_text(path, "".join(json.dumps(record) + "\n" for record in records))
