"""A file that is not a checkpoint (empty, truncated, random bytes, or one whose unpickling would call a function)
ends every checkpoint-reading tool with one line naming it and why, exit 2, and nothing written."""
import os
import shutil

import pytest
import torch

from tests.conftest import run_cli


class Hostile:
    """Pickles as a call of os.system that would create ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def real_checkpoint(tmp_path_factory):
    """A tools.lookup25 run of one sweep: its seed0/checkpoint_last.pt is a real fairseq checkpoint."""
    from tools import lookup25

    out = tmp_path_factory.mktemp("lookup25")
    lookup25.main(["--sweeps", "1", "--out", str(out)])
    return out / "seed0" / lookup25.CHECKPOINT


def write_bad(kind, path, real_checkpoint):
    """Write a bad checkpoint of ``kind`` at ``path``; returns the reason the tools must give."""
    if kind == "empty":
        path.write_bytes(b"")
        return "empty file"
    if kind == "truncated":
        data = real_checkpoint.read_bytes()
        path.write_bytes(data[:len(data) // 2])
        return "truncated or not a torch checkpoint"
    if kind == "random":
        path.write_bytes(os.urandom(4096))
        return "truncated or not a torch checkpoint"
    torch.save({"model": Hostile(path.parent / "called"), "cfg": {}}, path)
    return "refused by the safe loader: it would call posix.system"


@pytest.mark.parametrize("kind", ["empty", "truncated", "random", "hostile"])
def test_bad_file_raises_one_usage_error(kind, real_checkpoint, tmp_path):
    from seq_cli import UsageError
    from seq_plugins.checkpoint_safety import load_model_and_task

    path = tmp_path / "bad.pt"
    reason = write_bad(kind, path, real_checkpoint)
    with pytest.raises(UsageError) as err:
        load_model_and_task(str(path))
    assert str(err.value) == f"checkpoint {path}: {reason}"
    assert not (tmp_path / "called").exists()


def test_only_fairseq_checkpoints_pass(real_checkpoint, tmp_path):
    from seq_plugins.checkpoint_safety import checkpoint_problem, load_model_and_task

    state = torch.load(real_checkpoint, weights_only=True)
    legacy = tmp_path / "legacy.pt"  # torch's format before 1.6, which it cannot memory-map
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    assert checkpoint_problem(str(legacy)) is None
    model, _task = load_model_and_task(str(real_checkpoint))
    assert not model.training
    torch.save({"weights": state["model"], "cfg": state["cfg"]}, tmp_path / "weights.pt")
    assert checkpoint_problem(str(tmp_path / "weights.pt")) == "not a fairseq checkpoint (no 'model' key)"
    torch.save({"model": state["model"]}, tmp_path / "bare.pt")
    assert checkpoint_problem(str(tmp_path / "bare.pt")) == "not a fairseq checkpoint (no 'cfg' or 'args' key)"


def test_every_tool_answers_a_bad_checkpoint_in_one_line(real_checkpoint, tiny_identity, tmp_path):
    kept = tmp_path / "kept.json"
    kept.write_text("earlier result\n")
    run = tmp_path / "run"  # a tools.lookup25 output directory whose checkpoint is then spoiled
    shutil.copytree(real_checkpoint.parent.parent, run)
    checkpoint = run / "seed0" / real_checkpoint.name
    cases = [  # one kind of bad file per tool, so that each kind also goes through a whole command
        ("evaluate", "hostile", ["--data", str(tiny_identity), "--out-dir", str(tmp_path / "eval"), "--checkpoint"]),
        ("fpa", "truncated", ["dump", "--data", str(tiny_identity), "--out", str(tmp_path / "fpa" / "d.jsonl"),
                              "--checkpoint"]),
        ("meta_seq2seq_eval", "random", ["--out", str(kept), "--checkpoint"]),
        ("lookup25_pictures", "empty", [str(run)]),  # whose pictures go next to the checkpoint
    ]
    for tool, kind, args in cases:
        path = checkpoint if tool == "lookup25_pictures" else tmp_path / f"{kind}.pt"
        reason = write_bad(kind, path, real_checkpoint)
        before = sorted(p.name for p in tmp_path.iterdir())
        result = run_cli(["python", "-m", f"tools.{tool}", *args, *([] if tool == "lookup25_pictures" else [path])])
        assert result.returncode == 2, (tool, result.stderr[-2000:])
        assert result.stderr.splitlines() == [f"python -m tools.{tool}: error: checkpoint {path}: {reason}"], tool
        assert sorted(p.name for p in tmp_path.iterdir()) == before, tool
        assert sorted(p.name for p in checkpoint.parent.iterdir()) == [checkpoint.name], tool
    assert kept.read_text() == "earlier result\n"
    assert not (tmp_path / "called").exists()
