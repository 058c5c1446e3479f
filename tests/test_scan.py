import os
from collections import Counter

import pytest

from preprocess.scan_grammar import ADDPRIM, TEMPLATES, commands, interpret, make_split, read_official
from seq_cli import UsageError
from tests.conftest import run_cli

OFFICIAL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "scan")
OFFICIAL_FILES = {"length": "length_split/tasks_{}_length.txt",
                  **{name: f"add_prim_split/tasks_{{}}_{name}.txt" for name in ADDPRIM},
                  **{name: f"{name.split('_')[0]}_split/tasks_{{}}_{name}.txt" for name in TEMPLATES}}


def official(relative):
    if not os.path.isdir(OFFICIAL):
        pytest.skip(f"the official SCAN files are not at {os.path.abspath(OFFICIAL)}")
    return read_official(os.path.join(OFFICIAL, relative))


def test_grammar_and_interpreter():
    everything = commands()
    assert len(everything) == len(set(everything)) == 20910
    assert interpret("jump opposite left after walk around left") == (
        "I_TURN_LEFT I_WALK I_TURN_LEFT I_WALK I_TURN_LEFT I_WALK I_TURN_LEFT I_WALK I_TURN_LEFT I_TURN_LEFT "
        "I_JUMP").split()
    assert interpret("turn left twice") == ["I_TURN_LEFT", "I_TURN_LEFT"]
    assert interpret("jump around right") == ["I_TURN_RIGHT", "I_JUMP"] * 4
    assert interpret("jump opposite left and walk thrice") == "I_TURN_LEFT I_TURN_LEFT I_JUMP I_WALK I_WALK I_WALK".split()
    assert interpret("turn opposite right") == ["I_TURN_RIGHT", "I_TURN_RIGHT"]
    assert max(len(interpret(c)) for c in everything) == 48
    for bad in ("turn", "jump twice twice", "walk left around", "jump and", "fly"):
        with pytest.raises(ValueError):
            interpret(bad)


def test_commands_equal_the_official_tasks():
    assert Counter(official("tasks.txt")) == Counter(commands())


@pytest.mark.parametrize("name", sorted(OFFICIAL_FILES))
def test_rule_based_splits_equal_the_official_files(name):
    train, test = make_split(name)
    assert Counter(train) == Counter(official(OFFICIAL_FILES[name].format("train")))
    assert Counter(test) == Counter(official(OFFICIAL_FILES[name].format("test")))


def test_simple_split_is_seeded():
    train, test = make_split("simple", seed=1)
    assert (len(train), len(test)) == (16728, 4182) and not set(train) & set(test)
    assert make_split("simple", seed=1) == (train, test) and make_split("simple", seed=2)[0] != train


def test_addprim_training_has_ten_percent_bare_primitive():
    train, test = make_split("addprim_jump")
    assert train.count("jump") / len(train) == pytest.approx(0.1, abs=1e-3)
    assert all("jump" in c.split() and c != "jump" for c in test)


def test_importer_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("IN: jump OUT: I_JUMP\nIN: jump twice OUT: I_JUMP\n")
    with pytest.raises(UsageError, match=r"bad.txt:2: OUT does not match"):
        read_official(str(path))
    path.write_text("IN: jump OUT: I_JUMP\n\nIN: fly OUT: I_FLY\n")
    with pytest.raises(UsageError, match=r"bad.txt:3: 'fly' is not a SCAN phrase"):
        read_official(str(path))
    path.write_text("jump I_JUMP\n")
    with pytest.raises(UsageError, match=r"bad.txt:1: expected 'IN: <command> OUT: <actions>'"):
        read_official(str(path))


def test_cli_writes_raw_and_data_bin_and_refuses_bad_input(tmp_path):
    out = tmp_path / "addprim_jump"
    result = run_cli(["python", "-m", "preprocess.scan", "--split", "addprim_jump", "--out", str(out)])
    assert result.returncode == 0, result.stderr
    raw = (out / "raw" / "train.txt").read_text().splitlines()
    assert len(raw) == 14670 and "IN: walk twice OUT: I_WALK I_WALK" in raw
    from fairseq.data import Dictionary, data_utils
    dataset = data_utils.load_indexed_dataset(str(out / "data-bin" / "test.src-tgt.tgt"), None)
    assert len(dataset) == 7706
    assert "I_JUMP" in Dictionary.load(str(out / "data-bin" / "dict.tgt.txt")).symbols

    bad = tmp_path / "bad.txt"
    bad.write_text("IN: jump OUT: I_WALK\n")
    result = run_cli(["python", "-m", "preprocess.scan", "--official-train", str(bad), "--official-test", str(bad),
                      "--out", str(tmp_path / "imported")])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "bad.txt:1:" in result.stderr
    assert not (tmp_path / "imported").exists()
    result = run_cli(["python", "-m", "preprocess.scan", "--split", "length", "--out", str(out)])
    assert result.returncode == 2 and "already holds data made with other options" in result.stderr
