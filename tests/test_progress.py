"""seq_plugins.progress off a terminal: a plain line on stderr every SEQ_PROGRESS_SECONDS, nothing in between."""
import pytest

from seq_cli import UsageError
from seq_plugins.progress import Progress, duration


def test_lines_every_interval(monkeypatch, capsys):
    monkeypatch.setenv("SEQ_PROGRESS_SECONDS", "0")
    with Progress(10, "decoding test", "strings") as progress:
        for _ in range(3):
            progress.update(2)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and lines[0].startswith("decoding test: 2/10 strings (20%), ")
    assert lines[2].startswith("decoding test: 6/10 strings (60%), ") and ", ETA " in lines[2]
    monkeypatch.setenv("SEQ_PROGRESS_SECONDS", "30")
    with Progress(10, "decoding test", "strings") as progress:
        progress.update(10)
    assert capsys.readouterr().err == ""  # a short step stays silent in logs
    assert (duration(75), duration(3725)) == ("1:15", "1:02:05")
    monkeypatch.setenv("SEQ_PROGRESS_SECONDS", "soon")
    with pytest.raises(UsageError, match="^SEQ_PROGRESS_SECONDS=soon: not a number of seconds$"):
        Progress(10, "x")
