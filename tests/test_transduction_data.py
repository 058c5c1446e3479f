import filecmp
import json
import os
from collections import Counter

import numpy as np
import pytest

from preprocess.transductions import (INSTRUCTION, TASKS, build_parser, config_from_args, draw_strings, make_splits,
                                      transduce, word_length)
from seq_cli import UsageError, parse_int_ranges, run_main
from tests.conftest import TINY_DATA_ARGS, make_data, run_cli


def test_task_semantics():
    w = list("abc")
    assert transduce("identity", w) == (w, list("abc"))
    assert transduce("reversal", w) == (w, list("cba"))
    assert transduce("total_reduplication", w) == (w, list("abcabc"))
    assert transduce("quadratic_copying", w) == (w, list("abcabcabc"))
    assert transduce("input_specified_reduplication", w, 2) == (w + ["@", "@"], list("abcabcabc"))
    assert transduce("input_specified_reduplication", list("a"), 1) == (["a", "@"], ["a", "a"])
    assert transduce("identity", list("z"), 3) == (["z"], ["z"])  # only the instructed task reads @
    assert word_length(["a", "b", INSTRUCTION, INSTRUCTION]) == 2
    with pytest.raises(UsageError, match="unknown task 'copy'"):
        transduce("copy", w)


def read_split(data, split):
    lines = {}
    for name in sorted(os.listdir(os.path.join(data, "raw", split))):
        with open(os.path.join(data, "raw", split, name)) as f:
            lines[name] = f.read().splitlines()
    return lines


def test_layout_sizes_disjointness_and_dictionaries(tiny_identity):
    config = json.load(open(tiny_identity / "config.json"))
    assert config["id_lengths"] == [3, 4, 5] and config["ood_lengths"] == [1, 2, 6, 7]
    by_split = {split: read_split(tiny_identity, split) for split in ("train", "valid", "test", "ood")}
    for length in (3, 4, 5):
        sets = []
        for split, size in (("train", 100), ("valid", 7), ("test", 20)):
            src = by_split[split][f"len{length:02d}.src"]
            assert len(src) == len(set(src)) == size
            assert all(len(line.split()) == length for line in src)
            assert by_split[split][f"len{length:02d}.tgt"] == src  # identity
            sets.append(set(src))
        assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    # length 1 has 6 distinct strings: all of them, repeated to the requested 20
    short = by_split["ood"]["len01.src"]
    assert len(short) == 20 and set(short) == set("abcdef")
    assert len(set(by_split["ood"]["len06.src"])) == 20

    from fairseq.data import Dictionary
    for side in ("src", "tgt"):
        symbols = set(Dictionary.load(str(tiny_identity / "data-bin" / f"dict.{side}.txt")).symbols)
        assert set("abcdef") <= symbols


def by_count(sources):
    """{number of @: [input string, ...]} of source lines, in file order."""
    words = {}
    for line in sources:
        symbols = line.split()
        words.setdefault(symbols.count("@"), []).append(" ".join(s for s in symbols if s != "@"))
    return words


def test_instructed_task_pairs_every_string_with_each_count(tmp_path):
    data = make_data(tmp_path / "isr", "input_specified_reduplication")
    splits = {split: read_split(data, split) for split in ("train", "valid", "test", "ood", "ood_instr")}
    for split, lengths, strings, counts in (("train", (3, 4, 5), 100, (1, 2, 3)), ("valid", (3, 4, 5), 7, (1, 2, 3)),
                                            ("test", (3, 4, 5), 20, (1, 2, 3)), ("ood", (1, 2, 6, 7), 20, (1, 2, 3)),
                                            ("ood_instr", range(1, 8), 20, (4, 5, 6))):
        assert sorted(splits[split]) == sorted(f"len{n:02d}.{ext}" for n in lengths for ext in ("src", "tgt"))
        for length in lengths:
            name = f"len{length:02d}"
            src, tgt = splits[split][name + ".src"], splits[split][name + ".tgt"]
            assert len(src) == len(tgt) == strings * len(counts)
            words = by_count(src)
            # count-major blocks: the same strings, in the same order, once with each count
            assert list(words) == list(counts) and all(words[n] == words[counts[0]] for n in counts)
            for line, target in zip(src, tgt):
                symbols = line.split()
                n = symbols.count("@")
                assert symbols[length:] == ["@"] * n and target.split() == symbols[:length] * (n + 1)
            # unseen counts: the test strings in distribution, the ood strings outside
            if split == "ood_instr":
                seen = splits["test" if length in (3, 4, 5) else "ood"][name + ".src"]
                assert words[4] == by_count(seen)[1]
    assert {c for line in splits["ood"]["len01.src"] for c in line.split()} >= {"@"}


def test_instructed_task_counts_at_the_papers_lengths():
    """The paper's layout (lengths 6-15 in distribution, 1-5 and 16-30 outside, counts 1-3 and unseen 4-6) at a
    hundredth of its sizes: 300/300/1,500/3,000 pairs where Wang (2023) has 30k/30k/150k/300k, and the unseen
    counts at all 30 lengths."""
    args = build_parser().parse_args(["--task", "input_specified_reduplication", "--out", "unused",
                                      "--train-size", "10", "--dev-size", "10", "--test-size", "50",
                                      "--ood-size", "50"])
    splits = make_splits(config_from_args(args))
    assert make_splits(config_from_args(args)) == splits  # seeded: the same pairs every time

    def counts(split):
        return Counter((length, source.count("@")) for length, pairs in splits[split].items() for source, _ in pairs)

    for split, lengths, strings, instructions in (
            ("train", range(6, 16), 10, (1, 2, 3)), ("valid", range(6, 16), 10, (1, 2, 3)),
            ("test", range(6, 16), 50, (1, 2, 3)), ("ood", [*range(1, 6), *range(16, 31)], 50, (1, 2, 3)),
            ("ood_instr", range(1, 31), 50, (4, 5, 6))):
        assert counts(split) == {(length, n): strings for length in lengths for n in instructions}, split
    assert [sum(counts(split).values()) for split in splits] == [300, 300, 1500, 3000, 4500]


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    first, second = make_data(tmp_path / "a", "reversal"), make_data(tmp_path / "b", "reversal")
    third = make_data(tmp_path / "c", "reversal", ["--seed", "1"])
    compared = filecmp.dircmp(first, second)
    for sub in ("raw", "data-bin"):
        for root, _, files in os.walk(first / sub):
            rel = os.path.relpath(root, first)
            match, mismatch, errors = filecmp.cmpfiles(first / rel, second / rel, files, shallow=False)
            assert not mismatch and not errors and len(match) == len(files)
    assert compared.left_list == compared.right_list
    assert not filecmp.cmp(first / "raw/train/len04.src", third / "raw/train/len04.src", shallow=False)


def test_strings_do_not_depend_on_hashing_or_task(tmp_path):
    rng_a, rng_b = np.random.default_rng([0, 0, 8]), np.random.default_rng([0, 0, 8])
    assert draw_strings(rng_a, list("ab"), 8, 50) == draw_strings(rng_b, list("ab"), 8, 50)
    identity, reversal = make_data(tmp_path / "i", "identity"), make_data(tmp_path / "r", "reversal")
    assert read_split(identity, "test")["len05.src"] == read_split(reversal, "test")["len05.src"]


def test_parse_int_ranges():
    assert parse_int_ranges("1-5,16-18", "--x") == [1, 2, 3, 4, 5, 16, 17, 18]
    assert parse_int_ranges("7", "--x") == [7]
    for bad, message in (("", "empty range"), ("15-6", "inverted range"), ("0-3", "at least 1"),
                         ("a-b", "not a range"), ("1-4,3-5", "overlapping")):
        with pytest.raises(UsageError, match=message):
            parse_int_ranges(bad, "--x")


@pytest.mark.parametrize("extra, message", [
    (["--task", "copying"], "invalid choice: 'copying'"),
    (["--task", "identity", "--id-lengths", ""], "--id-lengths: empty range"),
    (["--task", "identity", "--ood-lengths", "30-16"], "--ood-lengths: inverted range '30-16'"),
    (["--task", "identity", "--id-lengths", "3-5", "--ood-lengths", "5-6"], "share lengths [5]"),
    (["--task", "identity", "--alphabet", "ab@"], "--alphabet"),
])
def test_bad_options_give_one_line(tmp_path, extra, message):
    result = run_cli(["python", "-m", "preprocess.transductions", "--out", str(tmp_path / "out"), *extra])
    assert result.returncode != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


def test_sizes_are_bounded_by_memory(tmp_path, capsys):
    """Options that need more than a quarter of this machine's memory are refused in one line that says the bound,
    before anything is built; the paper's defaults fit in 2 GiB (an 8 GB machine)."""
    from preprocess import memory_bound, transductions

    bound = f"above the bound of {memory_bound.memory_bound() / 2**30:.1f} GiB (a quarter of this machine's memory)"
    for extra, named in (
            (["--task", "reversal", "--train-size", "1000000000"], "--train-size 1000000000 with --id-lengths 6-15"),
            (["--task", "quadratic_copying", "--id-lengths", "6-3000", "--ood-lengths", "1-5"],
             "--test-size 5000 with --id-lengths 6-3000"),
            (["--task", "input_specified_reduplication", "--ood-instructions", "4-10000"],
             "--ood-size 5000 with --ood-lengths 1-5,16-30, --instructions 1-3, --ood-instructions 4-10000")):
        with pytest.raises(SystemExit) as exit_info:
            run_main(transductions.main, transductions.PROG, [*extra, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and len(err.splitlines()) == 1, err
        assert err.startswith(f"{transductions.PROG}: error: {named}: the data would take about ") and bound in err
    assert not (tmp_path / "out").exists()
    for task in TASKS:
        args = build_parser().parse_args(["--task", task, "--out", str(tmp_path / "out")])
        assert sum(transductions.memory_requests(config_from_args(args), args).values()) < 2 * 2**30, task
        # the target lengths the bound counts are those the tasks make
        for n in range(1, 5):
            for k in range(4):
                assert len(transduce(task, list("abcd"[:n]), k)[1]) == transductions.TARGET_LENGTH[task](n, k)


def test_existing_output_is_never_overwritten(tmp_path):
    data = make_data(tmp_path / "d", "reversal")
    before = (data / "raw/train/len03.src").read_bytes()
    again = make_data(tmp_path / "d", "reversal")  # same options: nothing to do
    assert again == data
    result = run_cli(["python", "-m", "preprocess.transductions", "--task", "reversal", "--out", str(data),
                      *TINY_DATA_ARGS, "--seed", "3"])
    assert result.returncode == 2
    assert "already holds data made with other options (seed: 0 there, 3 asked)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    result = run_cli(["python", "-m", "preprocess.transductions", "--task", "reversal",
                      "--out", str(tmp_path / "other"), *TINY_DATA_ARGS])
    assert result.returncode == 2 and "holds no config.json" in result.stderr
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    assert (data / "raw/train/len03.src").read_bytes() == before
    assert [p for p in os.listdir(tmp_path) if p.startswith(".transductions-")] == []


def test_tasks_listed_in_help():
    result = run_cli(["python", "-m", "preprocess.transductions", "--help"])
    assert result.returncode == 0 and all(task in result.stdout for task in TASKS)
