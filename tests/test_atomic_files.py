"""Writes on a disk that fills up: one line naming the file or output, exit 2, the old content kept and nothing
half-written left. The small disk is a real 16 KiB tmpfs, mounted in a private user and mount namespace
(util-linux's unshare), so no privileges are needed."""
import json

from tests.conftest import on_small_disk

WRITE_JSON_TWICE = """
import json, os, sys
from tools.atomic_files import write_json
path = os.path.join(sys.argv[1], "result.json")
write_json(path, {"a": 1})
try:
    write_json(path, {"a": "x" * 100000})  # more than the disk holds
    print(json.dumps({"error": None}))
except OSError as err:
    print(json.dumps({"error": [err.filename, err.strerror], "files": os.listdir(sys.argv[1]),
                      "content": json.load(open(path))}))
"""


def test_a_write_that_fills_the_disk_leaves_the_old_file_and_names_it(tmp_path):
    mount = tmp_path / "small"
    result = on_small_disk(mount, "python", "-c", WRITE_JSON_TWICE, str(mount))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["error"] == [str(mount / "result.json"), "No space left on device"]
    assert outcome["files"] == ["result.json"] and outcome["content"] == {"a": 1}


def test_a_generator_on_a_full_disk_says_so_in_one_line_and_leaves_no_files(tmp_path):
    mount = tmp_path / "small"
    out = mount / "find"
    result = on_small_disk(mount, "python", "-m", "preprocess.find", "--task", "add-or-mul", "--sizes", "20",
                           "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"python -m preprocess.find: error: {out / 'add-or-mul' / '20'}: No space left on device"]  # no file listed
