"""FIND's data (python -m preprocess.find) and learner grids (hyperparams/default, hyperparams/hierar-or-linear)."""
import filecmp
import glob
import json
import os

import pytest

from preprocess import find
from seq_cli import run_main
from tests.conftest import ROOT, run_cli
from tools.grid import expand, load_grid, render

USER_DIR = os.path.join(ROOT, "seq_plugins")


def b(n):
    return " ".join(["b"] * n)


def lines(path):
    with open(path) as f:
        return f.read().split("\n")[:-1]  # keeps empty lines (the empty input)


def snapshot(root):
    """{relative path: bytes} of every file under ``root``."""
    files = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = f.read()
    return files


@pytest.fixture(scope="module")
def find_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("find")
    find.main(["--out", str(root)])  # every task at FIND's sizes
    return root


def test_count_or_mem(find_root):
    size_dir = find_root / "count-or-mem" / "10"
    probes = lines(size_dir / "fpa" / "data" / "test.src")
    assert len(probes) == 21 and probes[0] == "" and probes[-1] == " ".join(["a"] * 20)
    assert lines(size_dir / "fpa" / "data" / "train.src") == [" ".join(["a"] * 10)]
    assert lines(size_dir / "fpa" / "data" / "train.tgt") == [b(10)]
    count_src, count_tgt = (lines(size_dir / "count" / "data" / f"train.{side}") for side in ("src", "tgt"))
    assert len(count_tgt) == 1 + 20 and count_src[1:3] == ["", "a"] and count_tgt[1:3] == ["", "b"]
    assert count_src[12] == " ".join(["a"] * 12) and count_tgt[12] == b(12)  # hold-out m = 0 .. 9, 11 .. 20
    assert lines(size_dir / "mem" / "data" / "train.tgt") == [b(10)] * 21
    # probes below m = 0 are dropped, not clamped to the empty input
    short = find.make_task({"task": "count-or-mem", "size": 3, "span": 10, "seed": 0})
    assert short["probes"][:2] == ["", "a"] and len(short["probes"]) == 14


def test_add_or_mul(find_root):
    rules = json.load(open(find_root / "add-or-mul" / "20" / "rules.json"))
    assert rules["probes"] == [" ".join(["a"] * m) for m in range(17, 24)]
    assert rules["rules"]["mul"][-1] == b(46) and rules["rules"]["add"][0] == b(37)
    assert rules["rules"]["mem"] == [b(40)] * 7 and rules["train"] == [[" ".join(["a"] * 20), b(40)]]
    assert len(rules["holdout"]) == 6 and rules["block_size"] == 1 and rules["mdl_train_examples"] == 1


def test_hierar_or_linear(find_root):
    size_dir = find_root / "hierar-or-linear" / "4"
    assert lines(size_dir / "fpa" / "data" / "train.src") == [
        "a a a a a a a a a", "b b b b a b b b b", "a a a a b a a a a", "b b b b b b b b b"]
    assert lines(size_dir / "fpa" / "data" / "train.tgt") == ["a", "a", "b", "b"]
    rules = json.load(open(size_dir / "rules.json"))
    assert len(rules["probes"]) == 20 and len(rules["holdout"]) == 16
    assert rules["block_size"] == 4 and rules["mdl_train_examples"] == 4
    by_probe = {rule: dict(zip(rules["probes"], outputs)) for rule, outputs in rules["rules"].items()}
    assert by_probe["hierar"]["b b a b b"] == "a" and by_probe["linear"]["b b a b b"] == "b"  # index 4
    assert by_probe["linear"]["a a a a a b a a a a a"] == "a" and by_probe["hierar"]["a a a a a b a a a a a"] == "b"
    train_inputs = {src for src, _ in rules["train"]}
    assert all(by_probe["hierar"][src] == by_probe["linear"][src] for src in train_inputs)


def test_comp_or_mem(find_root):
    size_dir = find_root / "comp-or-mem" / "5"
    assert list(zip(lines(size_dir / "fpa" / "data" / "train.src"), lines(size_dir / "fpa" / "data" / "train.tgt"))) \
        == [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D"), ("e", "E"), ("F a", "A A A")]
    rules = json.load(open(size_dir / "rules.json"))
    assert rules["probes"][:4] == ["a", "F a", "b", "F b"] and len(rules["probes"]) == 10
    assert rules["holdout"] == ["F b", "F c", "F d", "F e"]
    by_probe = {rule: dict(zip(rules["probes"], outputs)) for rule, outputs in rules["rules"].items()}
    assert by_probe["compo"]["F c"] == "C C C" and by_probe["mem_prim"]["F c"] == "C"
    assert by_probe["mem_func"]["F c"] == "A A A"
    assert {by_probe[rule]["c"] for rule in by_probe} == {"C"}
    assert by_probe["mem_prim"]["F a"] == "A A A"  # every candidate gives T's output on T's inputs
    assert lines(size_dir / "compo" / "data" / "train.tgt")[6:] == ["B B B", "C C C", "D D D", "E E E"]


def test_every_size_dir_is_consistent(find_root):
    from fairseq.data import Dictionary, data_utils

    size_dirs = sorted(glob.glob(str(find_root / "*" / "*")))
    assert len(size_dirs) == 4 + 4 + 1 + 3
    for size_dir in size_dirs:
        rules = json.load(open(os.path.join(size_dir, "rules.json")))
        t_src, t_tgt = [s for s, _ in rules["train"]], [t for _, t in rules["train"]]
        assert rules["holdout"] == [src for src in rules["probes"] if src not in t_src]
        assert rules["mdl_train_examples"] == len(t_src) and set(rules["rules"]) | {"fpa"} == set(
            name for name in os.listdir(size_dir) if os.path.isdir(os.path.join(size_dir, name)))
        first_rule = next(iter(rules["rules"].values()))
        fpa = os.path.join(size_dir, "fpa", "data")
        expected = {"fpa": {"train": (t_src, t_tgt), "valid": (t_src, t_tgt), "test": (rules["probes"], first_rule)}}
        for rule, outputs in rules["rules"].items():
            assert len(outputs) == len(rules["probes"])
            assert [out for src, out in zip(rules["probes"], outputs) if src in t_src] == [
                t_tgt[t_src.index(src)] for src in rules["probes"] if src in t_src]
            labels = dict(zip(rules["probes"], outputs))
            expected[rule] = {"train": (t_src + rules["holdout"], t_tgt + [labels[s] for s in rules["holdout"]]),
                              "valid": (t_src, t_tgt)}
        assert lines(os.path.join(fpa, "test.src")) == rules["probes"]
        dictionaries = {}
        for dataset, splits in expected.items():
            data_bin = os.path.join(size_dir, dataset, "data-bin")
            for side in ("src", "tgt"):
                dictionaries.setdefault(side, set()).add(open(os.path.join(data_bin, f"dict.{side}.txt")).read())
            for split, pair in splits.items():
                for side, want in zip(("src", "tgt"), pair):
                    assert lines(os.path.join(size_dir, dataset, "data", f"{split}.{side}")) == want
                    # and the binarized split decodes to the same lines
                    dictionary = Dictionary.load(os.path.join(data_bin, f"dict.{side}.txt"))
                    data = data_utils.load_indexed_dataset(os.path.join(data_bin, f"{split}.src-tgt.{side}"))
                    assert [dictionary.string(data[i]) for i in range(len(data))] == want
        # one vocabulary per task and size: a checkpoint of any data set reads the probes of fpa/
        assert all(len(texts) == 1 for texts in dictionaries.values()), size_dir
        for side in ("src", "tgt"):  # padded to a multiple of 8 with never-seen symbols, as fairseq-preprocess
            dictionary = Dictionary.load(os.path.join(size_dir, "fpa", "data-bin", f"dict.{side}.txt"))
            real = dictionary.symbols[dictionary.nspecial:]
            padding = [symbol for symbol in real if symbol.startswith("madeupword")]
            assert len(dictionary) % 8 == 0 and len(padding) < 8 and real[len(real) - len(padding):] == padding
            assert padding == [f"madeupword{i:04d}" for i in range(len(padding))]
            assert all(dictionary.count[dictionary.index(symbol)] == 0 for symbol in padding)


def test_dictionaries_are_those_of_fairseq_preprocess(find_root, tmp_path):
    """FIND binarized each data set with fairseq-preprocess's defaults: the same symbols and padded size as ours."""
    from fairseq.data import Dictionary

    for size_dir in ("comp-or-mem/5", "add-or-mul/5", "hierar-or-linear/4"):
        data = find_root / size_dir / "fpa" / "data"
        out = tmp_path / size_dir
        result = run_cli(["fairseq-preprocess", "--source-lang", "src", "--target-lang", "tgt", "--destdir", str(out),
                          "--trainpref", str(data / "train"), "--testpref", str(data / "test")])
        assert result.returncode == 0, result.stderr[-2000:]
        for side in ("src", "tgt"):
            theirs = Dictionary.load(str(out / f"dict.{side}.txt"))
            ours = Dictionary.load(str(find_root / size_dir / "fpa" / "data-bin" / f"dict.{side}.txt"))
            assert len(ours) == len(theirs) and len(ours) % 8 == 0, (size_dir, side)
            assert sorted(ours.symbols) == sorted(theirs.symbols), (size_dir, side)


def test_same_options_same_bytes_and_rerun_is_a_no_op(tmp_path, capsys):
    args = ["--task", "comp-or-mem", "--sizes", "5,10"]
    find.main(args + ["--out", str(tmp_path / "one")])
    find.main(args + ["--out", str(tmp_path / "two")])
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert one == two and len(one) > 50
    capsys.readouterr()
    find.main(args + ["--out", str(tmp_path / "one")])
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'one' / 'comp-or-mem' / str(size)} already holds this data set; nothing to do" for size in (5, 10)]
    assert snapshot(tmp_path / "one") == one
    assert [p for p in os.listdir(tmp_path / "one" / "comp-or-mem") if p.startswith(".")] == []


@pytest.mark.parametrize("args, message", [
    (["--task", "count-or-mem", "--seed", "1"], "already holds data made with other options (seed: 0 there, 1 asked)"),
    (["--task", "count-or-mem", "--sizes", "0"], "--sizes: values must be at least 1"),
    (["--task", "add-or-mul", "--sizes", "5,x"], "--sizes: 'x' is not a range"),
    (["--sizes", "5"], "--sizes needs one --task"),
    (["--task", "count-or-mem", "--span", "0"], "--span must be at least 1"),
    (["--task", "hierar-or-linear", "--span", "2"], "--span applies to --task count-or-mem or add-or-mul"),
    (["--task", "comp-or-mem", "--probe-depths", "2-6"], "--probe-depths applies to --task hierar-or-linear"),
    (["--task", "hierar-or-linear", "--probe-depths", "1-6"], "--probe-depths [1]: inputs of 3 symbols"),
    (["--task", "hierar-or-linear", "--probe-depths", "4"], "--probe-depths: only the training depth 4"),
    (["--task", "comp-or-mem", "--sizes", "1"], "--sizes 1: comp-or-mem needs 2 to 26 primitives"),
    (["--task", "comp-or-mem", "--sizes", "27"], "--sizes 27: comp-or-mem needs 2 to 26 primitives"),
    (["--task", "counting"], "argument --task: invalid choice: 'counting'"),
    # sizes bounded by memory (preprocess.memory_bound), before anything is built
    (["--task", "add-or-mul", "--sizes", "1000000000"], "--sizes 1000000000 with --span 3: the data would take about"),
    (["--task", "count-or-mem", "--sizes", "10", "--span", "100000000"], "--sizes 10 with --span 100000000: the data"),
    (["--task", "hierar-or-linear", "--probe-depths", "2-1000000"], "--probe-depths 2-1000000: the data would take"),
])
def test_bad_input_is_one_line_and_leaves_data_alone(tmp_path, capsys, args, message):
    find.main(["--task", "count-or-mem", "--sizes", "10", "--out", str(tmp_path)])
    before = snapshot(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_main(find.main, find.PROG, args + ["--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert err.startswith(f"{find.PROG}: error: ")
    assert snapshot(tmp_path) == before


def test_command_line(tmp_path):
    """The real entry point: help text, and a usage error in one line with exit status 2."""
    (tmp_path / "add-or-mul" / "5").mkdir(parents=True)
    (tmp_path / "add-or-mul" / "5" / "notes.txt").write_text("mine")
    result = run_cli(["python", "-m", "preprocess.find", "--task", "add-or-mul", "--sizes", "5",
                      "--out", str(tmp_path)])
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"{find.PROG}: error: --out {tmp_path / 'add-or-mul' / '5'} is not empty and holds no config.json; "
        "refusing to write into it"]
    assert os.listdir(tmp_path / "add-or-mul" / "5") == ["notes.txt"]
    assert "hierar-or-linear" in find.build_parser().format_help()
    result = run_cli(["python", "-m", "preprocess.find", "--task", "add-or-mul", "--sizes", "5", "--out", "/proc/nope"])
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"{find.PROG}: error: /proc/nope: No such file or directory"]


GRIDS = sorted(glob.glob(os.path.join(ROOT, "hyperparams", "default", "*.json"))
               + glob.glob(os.path.join(ROOT, "hyperparams", "hierar-or-linear", "*.json")))
LEARNERS = ("lstm_attention", "lstm_noattention", "cnn", "transformer")
# FIND trained with fairseq 0.9 (--clip-norm 25 by default) and its mdl.py forces --sentence-avg
COMMON = {"task": "transduction", "criterion": "cross_entropy", "optimizer": "adam", "lr": [0.001],
          "lr_scheduler": "inverse_sqrt", "warmup_updates": 1000, "warmup_init_lr": 1e-5, "dropout": 0.5,
          "max_update": 3000, "batch_size": 5000, "no_epoch_checkpoints": True, "disable_validation": True,
          "clip_norm": 25, "sentence_avg": True}
ARCHITECTURE = {
    "fast_lstm": {"encoder_embed_dim": 16, "decoder_embed_dim": 16, "encoder_hidden_size": 512,
             "decoder_hidden_size": 512, "encoder_layers": 1, "decoder_layers": 1},
    "fconv": {"encoder_embed_dim": 16, "decoder_embed_dim": 16, "encoder_layers": "[(512, 3)]",
              "decoder_layers": "[(512, 3)]", "decoder_attention": "True"},
    "transformer": {"encoder_embed_dim": 16, "decoder_embed_dim": 16, "encoder_ffn_embed_dim": 512,
                    "decoder_ffn_embed_dim": 512, "encoder_layers": 1, "decoder_layers": 1,
                    "encoder_attention_heads": 8, "decoder_attention_heads": 8},
}


def test_grid_files_are_complete():
    names = [os.path.relpath(path, os.path.join(ROOT, "hyperparams")) for path in GRIDS]
    assert names == sorted([f"{folder}/{learner}{suffix}.json" for folder in ("default", "hierar-or-linear")
                            for learner in LEARNERS for suffix in ("", "_small")]
                           # FIND's Transformer with cross+self-attention, 4 seeds only as in FIND
                           + [f"{folder}/transformer_lm_small.json" for folder in ("default", "hierar-or-linear")])
    for path in GRIDS:
        grid = load_grid(path)
        assert grid["seed"] == list(range(1, 5 if path.endswith("_small.json") else 101))
        assert len(expand(grid)) == len(grid["seed"])  # seed is the only axis
        # the same learners for hierar-or-linear (full batch still holds with its 4 training examples)
        assert grid == load_grid(path.replace("hierar-or-linear", "default"))
    lm = load_grid(os.path.join(ROOT, "hyperparams", "default", "transformer_lm_small.json"))
    assert lm == {**load_grid(os.path.join(ROOT, "hyperparams", "default", "transformer_small.json")),
                  "cross-self-attention": True}


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: os.path.relpath(p, os.path.join(ROOT, "hyperparams")))
def test_grid_is_accepted_by_fairseq(find_root, path):
    """fairseq's own parser takes every flag and value, and the architecture builds from them."""
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    size = "hierar-or-linear/4" if "hierar-or-linear" in path else "count-or-mem/10"
    data_bin = str(find_root / size / "fpa" / "data-bin")
    config = expand(load_grid(path))[0]
    args = options.parse_args_and_arch(options.get_training_parser(),
                                       [data_bin, "--user-dir", USER_DIR] + render(config))
    for key, value in {**COMMON, **ARCHITECTURE[args.arch]}.items():
        assert getattr(args, key) == value, key
    if args.arch == "fast_lstm":
        assert args.decoder_attention == ("0" if "noattention" in path else "1")
    assert getattr(args, "cross_self_attention", False) == ("transformer_lm" in path)
    # one-batch epochs: 100 updates per epoch, a checkpoint every 1000 updates
    assert args.seed == 1 and args.passes_per_epoch == 100 and args.save_interval == 10
    cfg = convert_namespace_to_omegaconf(args)
    model = tasks.setup_task(cfg.task).build_model(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
