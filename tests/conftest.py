import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
# A small data set that a tiny model learns in seconds: ID lengths 3-5 over 6 symbols, OOD 1-2 and 6-7.
TINY_DATA_ARGS = ["--alphabet", "abcdef", "--id-lengths", "3-5", "--ood-lengths", "1-2,6-7", "--train-size", "100",
                  "--dev-size", "7", "--test-size", "20", "--ood-size", "20"]


def run_cli(args, python_warnings="ignore", **kwargs):
    """Run a command of the venv (python -m ..., fairseq-train ...) from the repository root, with PYTHONWARNINGS
    ``python_warnings``."""
    executable = [sys.executable, *args[1:]] if args[0] == "python" else [os.path.join(BIN, args[0]), *args[1:]]
    env = dict(os.environ, PYTHONWARNINGS=python_warnings)
    return subprocess.run(executable, cwd=ROOT, capture_output=True, text=True, env=env, **kwargs)


def make_data(out, task="identity", extra=()):
    result = run_cli(["python", "-m", "preprocess.transductions", "--task", task, "--out", str(out),
                      *TINY_DATA_ARGS, *extra])
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def tiny_identity(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data") / "identity")


@pytest.fixture(scope="session")
def trained_run(tiny_identity, tmp_path_factory):
    """A tiny LSTM with attention trained to reproduce identity, through tools.transduction_run and fairseq-train."""
    out = tmp_path_factory.mktemp("runs") / "lstm_additive"
    result = run_cli(["python", "-m", "tools.transduction_run", "--data", str(tiny_identity),
                      "--grid", "tests/grids/tiny.json", "--set", "arch=lstm_seq2seq", "--set", "attention=additive",
                      "--out", str(out)])
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def on_small_disk(mount, *argv):
    """Run ``argv`` (``python ...`` for this interpreter) from the repository root with a 16 KiB tmpfs at
    ``mount``; the disk and what is on it vanish with the namespace, so the result also lists its files."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is needed to mount a small tmpfs without privileges"
    mount.mkdir()
    argv = [sys.executable if a == "python" else a for a in argv]
    shell = 'mount -t tmpfs -o size=16k tmpfs "$1" && cd "$2" && shift 2 && "$@"; status=$?; find "$0" -type f >&2; ' \
            'exit $status'
    return subprocess.run([unshare, "-rm", "sh", "-c", shell, str(mount), str(mount), ROOT, *argv],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"))
