"""The console scripts of setup.py: one per tool, installed in the venv, runnable from any directory."""
import ast
import glob
import importlib
import importlib.metadata
import os
import subprocess

import pytest

from seq_cli import COMMAND_PREFIX
from tests.conftest import BIN, ROOT


def console_scripts():
    """{command: "module:function"} as setup.py declares them (read, not run)."""
    with open(os.path.join(ROOT, "setup.py")) as f:
        call = next(node for node in ast.walk(ast.parse(f.read())) if isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) == "setup")
    entry_points = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "entry_points"))
    return dict(line.replace(" ", "").split("=") for line in entry_points["console_scripts"])


def test_every_tool_has_an_installed_command():
    scripts = console_scripts()
    for command, target in scripts.items():
        assert command.startswith(COMMAND_PREFIX), command  # what seq_cli.command_name recognizes
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), target
    # every module run as a program has its command
    sources = [path for package in ("tools", "preprocess") for path in glob.glob(os.path.join(ROOT, package, "*.py"))]
    programs = {os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".") for path in sources
                if 'if __name__ == "__main__":' in open(path).read()}
    assert programs == {target.split(":")[0] for target in scripts.values()}
    # the venv holds what setup.py declares (make install re-installs when setup.py changes)
    installed = {e.name: e.value.replace(" ", "") for e in importlib.metadata.distribution("seq_plugins").entry_points
                 if e.group == "console_scripts"}
    assert installed == scripts


@pytest.mark.parametrize("command", ["seq-sweep", "seq-report", "seq-fpa"])
def test_commands_run_from_any_directory(command, tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONPATH="")
    result = subprocess.run([os.path.join(BIN, command), "--help"], cwd=tmp_path, capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {command} ")
    if command == "seq-report":  # errors are one line under the command's own name, exit status 2
        result = subprocess.run([os.path.join(BIN, command), str(tmp_path)], cwd=tmp_path, capture_output=True,
                                text=True, env=env)
        assert result.returncode == 2 and result.stderr.splitlines() == [
            f"seq-report: error: {tmp_path} holds no manifest.json; give a directory made by tools/sweep.py"]
