"""tools.atomic_files on a disk that fills up: the write fails naming the file, the old content stays and no
temporary file is left. The small disk is a real tmpfs, mounted in a private user and mount namespace."""
import json
import shutil
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
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
    mount.mkdir()
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is needed to mount a small tmpfs without privileges"
    shell = f'mount -t tmpfs -o size=16k tmpfs "$1" && cd "$2" && exec "$3" -c "$4" "$1"'
    result = subprocess.run([unshare, "-rm", "sh", "-c", shell, "sh", str(mount), ROOT, sys.executable, SCRIPT],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["error"] == [str(mount / "result.json"), "No space left on device"]
    assert outcome["files"] == ["result.json"] and outcome["content"] == {"a": 1}
