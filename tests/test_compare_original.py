"""python -m tools.compare_original against tiny stand-in checkouts made here (never the originals)."""
import json
import os

from preprocess.transductions import build_parser, config_from_args, make_splits
from tests.conftest import ROOT, run_cli

# our side of the transductions comparison: tiny, and the stand-in below writes the same strings
TRANSDUCTION_OPTIONS = ["--alphabet", "abc", "--id-lengths", "2-3", "--ood-lengths", "1,5", "--train-size", "2",
                        "--dev-size", "2", "--test-size", "3", "--ood-size", "4"]
# Stand-in of rnn-seq2seq-learning's scripts/data.py: writes ./data/<task>/<split>.txt (input<TAB>target, no final
# newline) from words.json; its reversal copies instead (a wrong rule) and its total_red gen lacks one pair.
TRANSDUCTION_STAND_IN = '''import json, os
words = json.load(open(os.path.join(os.path.dirname(__file__), "words.json")))
rules = {"identity": lambda w: w, "rev": lambda w: w, "total_red": lambda w: w + w, "quad_copy": lambda w: w * len(w)}
for name, rule in rules.items():
    os.makedirs(os.path.join("data", name))
    for split, ws in words.items():
        ws = ws[:-1] if (name, split) == ("total_red", "gen") else ws
        with open(os.path.join("data", name, split + ".txt"), "w") as f:
            f.write("\\n".join(w + "\\t" + rule(w) for w in ws))
'''


def transduction_stand_in(tmp_path):
    """A checkout whose generator writes exactly our identity strings (per split, in our order)."""
    cfg = config_from_args(build_parser().parse_args(["--task", "identity", "--out", "-", *TRANSDUCTION_OPTIONS]))
    ours = make_splits(cfg)
    words = {theirs: ["".join(source) for pairs in ours[split].values() for source, _ in pairs]
             for split, theirs in (("train", "train"), ("valid", "dev"), ("test", "test"), ("ood", "gen"))}
    checkout = tmp_path / "rnn-seq2seq-learning"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / "scripts" / "data.py").write_text(TRANSDUCTION_STAND_IN)
    (checkout / "scripts" / "utils.py").write_text("")
    (checkout / "scripts" / "words.json").write_text(json.dumps(words))
    return checkout


def compare_transductions(checkout, out, *extra):
    return run_cli(["python", "-m", "tools.compare_original", "transductions", "--original", str(checkout),
                    "--out", str(out), "--ours", " ".join(TRANSDUCTION_OPTIONS), *extra])


def test_transductions_side_by_side(tmp_path):
    checkout = transduction_stand_in(tmp_path)
    result = compare_transductions(checkout, tmp_path / "out", "--allow-other-commit")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "out" / "compare.json").read_text())
    rows = {(r["task"], r["split"]): r for r in record["rows"]}
    assert len(rows) == 4 * 4 + 5  # the instructed task adds ood_instr
    for (task, split), row in rows.items():
        wrong_rule, missing_pair = task == "reversal", (task, split) == ("total_reduplication", "ood")
        assert row["rule_agrees"] == (not wrong_rule), (task, split)
        assert row["same_counts"] == (not missing_pair), (task, split)
        assert row["same_pairs"] == (not wrong_rule and not missing_pair), (task, split)
    # the original's instructed pairs, rebuilt from its strings: counts 1-3 everywhere, 4-6 at every length
    isr = {split: rows[("input_specified_reduplication", split)]["original"]["per_length_and_n"]
           for split in ("train", "ood", "ood_instr")}
    assert isr["train"] == {f"{length},{n}": 2 for length in (2, 3) for n in (1, 2, 3)}
    assert isr["ood"] == {f"{length},{n}": 4 for length in (1, 5) for n in (1, 2, 3)}
    assert isr["ood_instr"] == {**{f"{length},{n}": 3 for length in (2, 3) for n in (4, 5, 6)},
                                **{f"{length},{n}": 4 for length in (1, 5) for n in (4, 5, 6)}}
    assert rows[("identity", "ood")]["original"]["distinct"] == 3 + 4  # length 1 has 3 strings, repeated
    table = result.stdout.splitlines()
    assert table[0].split()[:2] == ["task", "split"]
    assert [line.split()[:2] for line in table[1:6]] == [["identity", s] for s in ("train", "valid", "test", "ood")] + [
        ["reversal", "train"]]
    assert table[1].split()[2:] == ["4/4", "4/4", "2-3", "/", "2-3", "-/-", "yes", "yes", "yes"]


def test_transductions_refuses_another_commit_and_bad_tasks(tmp_path):
    checkout = transduction_stand_in(tmp_path)
    result = compare_transductions(checkout, tmp_path / "out")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "scripts/data.py differs from jaaack-wang/rnn-seq2seq-learning at commit 89195b2" in result.stderr
    result = compare_transductions(checkout, tmp_path / "out", "--allow-other-commit", "--tasks", "identity,copy")
    assert result.returncode == 2 and "--tasks: unknown task 'copy'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# Stand-in of hinton-problems' sequence-lookup-25/sequence_lookup_25.py: takes the original's options, records them
# in argv.json where it runs, and writes --save-results with numbers made from the seed (seed 7 fails).
LOOKUP25_STAND_IN = '''import argparse, json, sys
parser = argparse.ArgumentParser()
for option in ("--seed", "--dataset-seed", "--n-hidden", "--n-sweeps", "--max-timing"):
    parser.add_argument(option, type=int)
for option in ("--lr", "--momentum", "--weight-decay", "--init-scale", "--grad-clip"):
    parser.add_argument(option, type=float)
parser.add_argument("--variable-timing", action="store_true")
parser.add_argument("--save-results")
args = parser.parse_args()
json.dump(sys.argv[1:], open("argv.json", "w"))
if args.seed == 7:
    sys.exit("stand-in: no seed 7")
targets = [[1.0, -1.0, 1.0]] * 5
predictions = [[1.0, -1.0, -1.0]] * args.seed + targets[args.seed:]  # the first `seed` held out wrong on bit 2
json.dump({"test_n_correct": 5 - args.seed, "test_n_total": 5, "test_predictions": predictions,
           "test_targets": targets, "test_letters": [[i, 0, 1, 2, 3] for i in range(5)],
           "final_train_acc": 0.95, "history_loss": [1.0, 0.25 * (args.seed + 1)], "converged_sweep": None,
           "wallclock": 0.5}, open(args.save_results, "w"))
'''


def lookup25_stand_in(tmp_path, script=LOOKUP25_STAND_IN):
    checkout = tmp_path / "hinton-problems"
    (checkout / "sequence-lookup-25").mkdir(parents=True)
    if script is not None:
        (checkout / "sequence-lookup-25" / "sequence_lookup_25.py").write_text(script)
    return checkout


def compare_lookup25(checkout, out, *extra):
    return run_cli(["python", "-m", "tools.compare_original", "lookup25", "--original", str(checkout),
                    "--out", str(out), *extra])


def test_lookup25_side_by_side(tmp_path):
    import torch

    from tools import lookup25

    checkout, out = lookup25_stand_in(tmp_path), tmp_path / "out"
    result = compare_lookup25(checkout, out, "--allow-other-commit", "--seeds", "0-1", "--variable-timing",
                              "--sweeps", "3")
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "compare.json").read_text())
    assert [row["seed"] for row in record["seeds"]] == [0, 1] and record["variable_timing"]
    assert record["seeds"][1]["losses_apart_from_sweep"] == 1  # the stand-in's loss of sweep 1 is 1.0
    argv = json.loads((out / "original" / "seed1" / "argv.json").read_text())
    settings = dict(zip(argv[::2], argv[1::2]))  # the options with a value, then --variable-timing
    assert argv[-1] == "--variable-timing"
    assert {k: settings[k] for k in ("--seed", "--n-hidden", "--n-sweeps", "--max-timing", "--lr", "--grad-clip")} == {
        "--seed": "1", "--n-hidden": "60", "--n-sweeps": "3", "--max-timing": "2", "--lr": "0.02", "--grad-clip": "1.0"}
    original = record["seeds"][1]["original"]
    assert original == {"heldout_correct": 4, "heldout_total": 5, "heldout_bit_correct": [5, 5, 4],
                        "heldout_wrong": ["AABCD"], "train_correct_last_sweep": 19, "loss_last_sweep": 0.5,
                        "converged_sweep": None, "loop_seconds": 0.5}
    # our side is tools.lookup25's run of the same seed and settings
    alone = tmp_path / "alone"
    lookup25.main(["--seed", "1", "--variable-timing", "--sweeps", "3", "--out", str(alone)])
    run = json.loads((alone / "result.json").read_text())["runs"][0]
    ours = record["seeds"][1]["ours"]
    assert (ours["heldout_correct"], ours["heldout_bit_correct"]) == (run["heldout"]["correct"],
                                                                      run["heldout"]["bit_correct"])
    history = torch.load(run["checkpoint"], weights_only=True)["task_state"]["history"]
    assert (ours["loss_last_sweep"], ours["train_correct_last_sweep"]) == (history["loss"][-1],
                                                                          history["train_correct"][-1])
    assert (out / "ours" / "seed1" / "checkpoint_last.pt").is_file()
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| seed | held out of 5 (original / ours) |") and len(rows) == 1 + 2 + 1
    assert rows[2].startswith(f"| 1 | 4 / {ours['heldout_correct']} | 5/5/4 / ")
    mean = (record["seeds"][0]["ours"]["heldout_correct"] + ours["heldout_correct"]) / 2
    assert rows[3].startswith(f"| mean | 4.5 / {mean:.1f} |")


def test_lookup25_refuses_missing_files_other_commits_and_failed_runs(tmp_path, capsys):
    import pytest

    from seq_cli import run_main
    from tools import compare_original

    out = tmp_path / "out"
    for checkout, extra, message in (
            (lookup25_stand_in(tmp_path / "a", script=None), ["--allow-other-commit"],
             "sequence-lookup-25/sequence_lookup_25.py is missing (expected a checkout of yaroslavvb/hinton-problems "
             "at commit a83a59e)"),
            (lookup25_stand_in(tmp_path / "b"), [],
             "sequence-lookup-25/sequence_lookup_25.py differs from yaroslavvb/hinton-problems at commit a83a59e"),
            (lookup25_stand_in(tmp_path / "c"), ["--allow-other-commit", "--seeds", "0-x"],
             "--seeds: '0-x' is not a range"),
            (lookup25_stand_in(tmp_path / "d"), ["--allow-other-commit", "--seeds", "7"],
             f"the original failed on seed 7 (exit status 1); see {out / 'original' / 'seed7' / 'log.txt'}")):
        argv = ["lookup25", "--original", str(checkout), "--out", str(out), *extra]
        with pytest.raises(SystemExit) as stopped:
            run_main(compare_original.main, compare_original.PROG, argv)
        stderr = capsys.readouterr().err
        assert stopped.value.code == 2 and len(stderr.strip().splitlines()) == 1 and message in stderr, stderr
    assert "stand-in: no seed 7" in (out / "original" / "seed7" / "log.txt").read_text()


# Stand-in of FIND's tasks/count-or-mem/generate_data.py, run by its generate.sh for L = 3: the fpa data set is
# ours (probes m = 0 .. 13), its count data set labels m = 5 wrongly; its dictionaries: src padded, dst not.
FIND_STAND_IN = '''import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--train_length", type=int)
parser.add_argument("--test_span", type=int)
L, span = parser.parse_args().train_length, 10
probes = [" ".join("a" * m) for m in range(0, L + span + 1)]
def write(name, train_pairs):
    os.makedirs(f"{L}/{name}/data")
    os.makedirs(f"{L}/{name}/data-bin")
    for split, pairs in (("train", train_pairs), ("test", [(p, "") for p in probes])):
        for side, k in (("src", 0), ("dst", 1)):
            open(f"{L}/{name}/data/{split}.{side}", "w").write("".join(p[k] + "\\n" for p in pairs))
    open(f"{L}/{name}/data-bin/dict.src.txt", "w").write("a 1\\n" + "".join(f"madeupword000{i} 0\\n" for i in range(3)))
    open(f"{L}/{name}/data-bin/dict.dst.txt", "w").write("b 1\\n")
t = (" ".join("a" * L), " ".join("b" * L))
holdout = [p for p in probes if p != t[0]]
write("fpa", [t])
write("mem", [t] + [(p, t[1]) for p in holdout])
write("count", [t] + [(p, " ".join("b" * (len(p.split()) + (len(p.split()) == 5)))) for p in holdout])
'''


def find_stand_in(tmp_path):
    """Every file tools/originals/find.py reads; the grids are empty but two, which hold known differences."""
    from tools.grid import load_grid
    from tools.originals import find

    checkout = tmp_path / "FIND"
    for name in find.FILES:
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text("{}" if name.endswith(".json") else "")
    (checkout / "tasks" / "count-or-mem" / "generate.sh").write_text(
        "for len in 3; do\n  python generate_data.py --train_length=$len --test_span=10\ndone\n")
    (checkout / "tasks" / "count-or-mem" / "generate_data.py").write_text(FIND_STAND_IN)
    (checkout / "local_grid.py").write_text(
        "train_params = [str(data_path), f'--save-dir={str(path)}', '--sentence-avg'] + combo\n")
    ours = load_grid(os.path.join(ROOT, "hyperparams", "default", "transformer_small.json"))
    theirs = {k: v if isinstance(v, list) else [v] for k, v in ours.items()
              if k not in ("clip-norm", "sentence-avg")}  # FIND's run gets both
    (checkout / "hyperparams" / "default" / "transformer_small.json").write_text(json.dumps({**theirs, "lr": [0.01]}))
    (checkout / "hyperparams" / "default" / "transformer_lm_small.json").write_text(
        json.dumps({**theirs, "lr": 1e-3, "--cross-self-attention": True}))
    return checkout


def test_find_data_and_grids_side_by_side(tmp_path):
    checkout, out = find_stand_in(tmp_path), tmp_path / "out"
    result = run_cli(["python", "-m", "tools.compare_original", "find", "--original", str(checkout), "--out",
                      str(out), "--allow-other-commit", "--tasks", "count-or-mem"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert ("  count-or-mem 3 fpa: train 1 | 1 identical; test_inputs 14 | 14 identical; "
            "dict_src 4 | 4 identical; dict_tgt 1 | 4 DIFFER") in lines  # our target dictionary is padded
    assert "  count-or-mem 3 count: train 14 | 14 DIFFER; test_inputs 14 | 14 identical;" in result.stdout
    assert "  count-or-mem 3 mem: train 14 | 14 identical;" in result.stdout
    record = json.loads((out / "compare.json").read_text())
    count = next(r for r in record["data"] if r["dataset"] == "count")
    assert [i for i, (a, b) in enumerate(zip(*count["train"])) if a != b] == [5]  # T first, then m = 0, 1, ..
    # grids: local_grid.py's --sentence-avg and fairseq 0.9's clip-norm 25 count on FIND's side
    at = lines.index("  hyperparams/default/transformer_small.json: 1 keys differ")
    assert lines[at + 1] == "    lr: [0.01] | 0.001"
    at = lines.index("  hyperparams/default/transformer_lm_small.json: 0 keys differ")
    assert lines[at + 1].startswith("    FIND's key '--cross-self-attention' starts with dashes")
    assert "  hyperparams/lstm_attention.json: FIND only" in lines
    assert "    decoder-attention: - | \"1\"  (the same for one layer" in result.stdout  # an empty stand-in grid


def test_find_refuses_unknown_tasks_and_other_commits(tmp_path):
    checkout = find_stand_in(tmp_path)
    for extra, message in (([], "hyperparams/default/cnn.json differs from facebookresearch/FIND at commit 0a91e12"),
                           (["--allow-other-commit", "--tasks", "count-or-mem,scan"], "--tasks: unknown task 'scan'")):
        result = run_cli(["python", "-m", "tools.compare_original", "find", "--original", str(checkout), "--out",
                          str(tmp_path / "out"), *extra])
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not (tmp_path / "out").exists()


# Stand-in of meta_seq2seq's train.py: prints its log lines (loss falling below 1 nat at episode 100) and records
# the seeds it was given, so the harness's parsing, seeding and resuming are checked without the original.
META_SEQ2SEQ_STAND_IN = '''import argparse, os, random
p = argparse.ArgumentParser()
for flag in ("--episode_type", "--num_episodes", "--lr_decay_schedule", "--dir_model", "--fn_out_model"):
    p.add_argument(flag)
a = p.parse_args()
with open(os.path.join(a.dir_model, "seeds.txt"), "w") as f:
    f.write(f"{random.random()} {os.environ['PYTHONHASHSEED']} {os.path.isdir('data')}")
for episode in [1] + list(range(100, int(a.num_episodes) + 1, 100)):
    loss = 1.1 if episode < 100 else 0.5
    print(f"0m 1s (- 0m 1s) ({episode} 1% finished) TrainLoss: {loss:.4f}, ValAccRetrieval: 100.0, "
          f"ValAccGeneralize: {episode / 10:.1f}")
print("Training complete")
'''


def test_meta_seq2seq_side_by_side(tmp_path):
    from tools.originals import meta_seq2seq

    checkout = tmp_path / "meta_seq2seq"
    (checkout / "data").mkdir(parents=True)
    for name in meta_seq2seq.FILES:
        (checkout / name).write_text("")
    (checkout / "train.py").write_text(META_SEQ2SEQ_STAND_IN)
    out = tmp_path / "out"
    command = ["python", "-m", "tools.compare_original", "meta_seq2seq", "--original", str(checkout), "--out",
               str(out), "--seeds", "1-2", "--episodes", "100"]
    result = run_cli(command + ["--sides", "original"])
    assert result.returncode == 2 and "train.py differs from facebookresearch/meta_seq2seq" in result.stderr
    result = run_cli(command + ["--sides", "original", "--allow-other-commit"])
    assert result.returncode == 0, result.stderr
    seeds = [(out / "original" / f"seed{s}" / "seeds.txt").read_text().split() for s in (1, 2)]
    assert [s[1:] for s in seeds] == [["1", "True"], ["2", "True"]] and seeds[0][0] != seeds[1][0]
    runs = json.loads((out / "compare.json").read_text())["runs"]["original"]
    assert runs["1"]["plateau_exit"] == 100 and runs["1"]["final"] == {"generalization": 10.0, "retrieval": 100.0}
    assert result.stdout.splitlines()[1].split() == ["1", "10.0", "100.0", "100"]
    log = out / "original" / "seed1" / "train.log"
    before = log.stat().st_mtime_ns
    # ours: a real 100-episode run of tools/reproduce_meta_seq2seq.sh; the finished original is not rerun
    result = run_cli(command[:-4] + ["--seeds", "1", "--episodes", "100", "--allow-other-commit"], timeout=900)
    assert result.returncode == 0, result.stderr
    assert log.stat().st_mtime_ns == before
    ours = json.loads((out / "compare.json").read_text())["runs"]["ours"]["1"]
    assert list(ours["loss_nats"]) == ["100"] and 0 < ours["loss_nats"]["100"] < 3
    assert ours["final"]["generalization"] is not None and ours["final"]["retrieval"] is not None
    result = run_cli(command[:-2] + ["--episodes", "200", "--allow-other-commit"])  # another budget, same --out
    assert result.returncode == 2 and "was run with --episodes 100" in result.stderr
