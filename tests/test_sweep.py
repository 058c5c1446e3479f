"""tools/sweep.py: a JSON grid fanned out by submitit to local workers and to a real single-node SLURM cluster."""
import argparse
import json
import re
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from seq_cli import UsageError
from tests.conftest import ROOT, run_cli
from tests.slurm_cluster import Cluster, ensure_installed
from tools import fpa, sweep
from tools.grid import expand, load_grid, render

TINY = os.path.join(ROOT, "tests", "grids", "sweep_tiny.json")
T = [("a a a", "b b b b b b")]
PROBES = ["a a", "a a a", "a a a a"]
RULES = {"add": [" ".join(["b"] * (len(p.split()) + 3)) for p in PROBES],
         "mul": [" ".join(["b"] * 2 * len(p.split())) for p in PROBES]}


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory):
    """preprocess.find's layout for add-or-mul with L=3: T, the probes, and one data set per candidate rule."""
    from preprocess.binarize import SOURCE_LANG, TARGET_LANG, binarize, build_dictionary

    size_dir = tmp_path_factory.mktemp("find") / "add-or-mul" / "3"
    holdout = [p for p in PROBES if p not in {src for src, _ in T}]
    every = T + [(p, o) for outputs in RULES.values() for p, o in zip(PROBES, outputs)]
    dictionaries = {lang: build_dictionary(pair[side] for pair in every)
                    for side, lang in enumerate((SOURCE_LANG, TARGET_LANG))}
    split = lambda pairs: ([s for s, _ in pairs], [t for _, t in pairs])  # noqa: E731
    binarize({"train": split(T), "valid": split(T), "test": (PROBES, RULES["mul"])},
             str(size_dir / "fpa" / "data-bin"), dictionaries)
    for rule, outputs in RULES.items():
        labelled = dict(zip(PROBES, outputs))
        binarize({"train": split(T + [(h, labelled[h]) for h in holdout]), "valid": split(T)},
                 str(size_dir / rule / "data-bin"), dictionaries)
    (size_dir / "rules.json").write_text(json.dumps(
        {"task": "add-or-mul", "size": 3, "train": [list(p) for p in T], "probes": PROBES, "rules": RULES,
         "holdout": holdout, "mdl_train_examples": 1, "block_size": 1}))
    return size_dir


def write_grid(path, **changes):
    grid = dict(load_grid(TINY), **changes)
    path.write_text(json.dumps(grid))
    return str(path)


def sweep_args(grid, task_dir, results, *more):
    return ["--sweep", str(grid), "--task", str(task_dir), "--results-dir", str(results), "--name", "s", *more]


def results_of(results, n):
    return [json.load(open(results / "s" / str(i) / "result.json")) for i in range(n)]


def shown(path):
    """A path as the sweep, run from the repository root, prints it."""
    path = str(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def intervals_overlap(intervals):
    """The largest number of [start, end] intervals that hold a common instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    alive = most = 0
    for _, step in events:
        alive += step
        most = max(most, alive)
    return most


# ---- expansion, rendering, commands ----------------------------------------------------------------------------

def value_of(argv, flag):
    """The value the parser keeps: the one after the last occurrence of the flag."""
    return argv[len(argv) - argv[::-1].index(flag)]


def test_grid_expansion_and_commands(task_dir, tmp_path):
    grid = dict(load_grid(TINY), **{"encoder-hidden-size": [16, 32], "mdl-batch-size": 5})
    configs = expand(grid)
    assert [(c["encoder-hidden-size"], c["seed"]) for c in configs] == [(16, 1), (16, 2), (32, 1), (32, 2)]
    assert render({"a": True, "b": False, "c": 0.5}) == ["--a", "--c", "0.5"]
    layout = sweep.task_layout(str(task_dir), fpa=True, mdl=True)
    specs = sweep.make_specs(configs, layout, str(tmp_path), ["--cpu"], fpa=True, mdl=True)
    train = specs[3]["train"]
    assert train[0].endswith("fairseq-train") and train[1] == str(task_dir / "fpa" / "data-bin")
    assert value_of(train, "--save-dir") == str(tmp_path / "3" / "checkpoints")
    assert value_of(train, "--seed") == "2" and value_of(train, "--encoder-hidden-size") == "32"
    assert train[-1] == "--cpu" and value_of(train, "--task") == "transduction"
    assert "--mdl-batch-size" not in train  # mdl- keys go to the description-length runs only
    mdl = specs[3]["mdl"]["mul"]
    assert mdl[1] == str(task_dir / "mul" / "data-bin") and mdl[-1] == "--cpu"
    assert value_of(mdl, "--save-dir") == str(tmp_path / "3" / "mdl" / "mul")
    # the grid's task and criterion are replaced and its mdl- keys added
    assert value_of(mdl, "--task") == "prequential_translation" and value_of(mdl, "--criterion") == "prequential_mdl"
    assert value_of(mdl, "--mdl-batch-size") == "5"
    assert specs[0]["fpa"]["dump"][1:4] == ["-m", "tools.fpa", "dump"]
    assert value_of(specs[0]["fpa"]["aggregate"], "--rules") == str(task_dir / "rules.json")


def test_fairseq_parses_each_distinct_configuration_once(task_dir, tmp_path, monkeypatch):
    from fairseq import options

    grid = dict(load_grid(TINY), seed=list(range(1, 51)), **{"encoder-hidden-size": [16, 32]})
    layout = sweep.task_layout(str(task_dir), fpa=True, mdl=True)
    specs = sweep.make_specs(expand(grid), layout, str(tmp_path), [], fpa=True, mdl=True)
    parsed = []
    real = options.parse_args_and_arch
    monkeypatch.setattr(options, "parse_args_and_arch", lambda parser, argv: parsed.append(argv) or real(parser, argv))
    sweep.validate("grid.json", specs, [])
    assert len(specs) == 100 and len(parsed) == 4  # 2 sizes x (training, description length), not 100 x 2
    assert {value_of(argv, "--encoder-hidden-size") for argv in parsed} == {"16", "32"}


def test_a_sweep_killed_before_its_manifest_was_in_place_is_started_again(tmp_path):
    sweep_dir = tmp_path / "s"
    sweep_dir.mkdir()
    (sweep_dir / "sweep.lock").write_text("{}")
    (sweep_dir / "manifest.json.tmp").write_text('{"grid": ')  # killed while writing it
    sweep.check_manifest(str(sweep_dir), {}, resume=False)  # no error: nothing of the sweep was in place
    (sweep_dir / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="is not empty and holds no manifest.json"):
        sweep.check_manifest(str(sweep_dir), {}, resume=False)


def test_checkpoint_resubmits_itself():
    job = sweep.RunOne()
    delayed = job.checkpoint({"index": 0})
    assert delayed.function is job and delayed.args == ({"index": 0},)


class FakeExecutor:
    def __init__(self):
        self.parameters, self.visible = {}, []

    def update_parameters(self, **parameters):
        self.parameters.update(parameters)

    def submit(self, function, spec):
        self.visible.append((self.parameters["gpus_per_node"], self.parameters["visible_gpus"]))
        return None


def test_local_jobs_spread_over_gpus(tmp_path):
    assert sweep.gpu_groups(4, 2) == [(0, 1), (2, 3)] and sweep.gpu_groups(3, 2) == [(0, 1)]
    assert sweep.gpu_groups(0, 0) == [()]  # CPU only: submitit hides every GPU
    specs = [{"index": i, "run_dir": str(tmp_path / str(i)), "config": {}, "train": [], "fpa": None, "mdl": None,
              "threads": 1} for i in range(5)]
    executor = FakeExecutor()
    scheduler = sweep.Scheduler(argparse.Namespace(cluster="local", name="s"), executor, specs, 3,
                                sweep.gpu_groups(4, 2))
    scheduler.submit()
    assert executor.visible == [(2, (0, 1)), (2, (2, 3)), (2, (0, 1))]  # three workers share two GPU pairs
    del scheduler.active[1]  # the job of worker 1 ends: the next run takes its slot and its GPUs
    scheduler.submit()
    assert executor.visible[3:] == [(2, (2, 3))] and sorted(scheduler.active) == [0, 2, 3]


# ---- progress: the ETA from the running runs' logs --------------------------------------------------------------

# the end of a real train.log (hyperparams/default/fconv_small.json on add-or-mul/20, --log-format simple)
SIMPLE_LOG = """\
2026-11-30 20:14:54 | INFO | train_inner | epoch 029:    100 / 100 loss=0, nll_loss=0, ppl=1, wps=869, ups=21.2, \
wpb=41, bsz=1, num_updates=2900, lr=0.00058722, gnorm=0.001, clip=0, train_wall=4, wall=134
2026-11-30 20:14:54 | INFO | fairseq_cli.train | end of epoch 29 (average epoch stats below)
2026-11-30 20:14:54 | INFO | train | epoch 029 | loss 0 | nll_loss 0 | ppl 1 | wps 869 | ups 21.2 | wpb 41 | bsz 1 | \
num_updates 2900 | lr 0.00058722 | gnorm 0.001 | clip 0 | train_wall 4 | wall 134
2026-11-30 20:14:54 | INFO | fairseq.trainer | begin training epoch 30
2026-11-30 20:14:59 | INFO | train_inner | epoch 030:    100 / 100 loss=0, nll_loss=0, ppl=1, wps=936.5, ups=22.84, \
wpb=41, bsz=1, num_updates=3000, lr=0.00057735, gnorm=0, clip=0, train_wall=4, wall=138
2026-11-30 20:14:59 | INFO | fairseq_cli.train | Stopping training due to num_updates: 3000 >= max_update: 3000
2026-11-30 20:14:59 | INFO | fairseq.checkpoint_utils | Saved checkpoint checkpoints/checkpoint_last.pt (epoch 30 @ \
3000 updates, score None) (writing took 0.07176979099858727 seconds)
"""
# the same from fairseq-train ... --max-update 3 --log-format json --log-interval 1
JSON_LOG = """\
2026-11-30 20:54:56 | INFO | train_inner | {"epoch": 1, "update": 0.02, "loss": "146.195", "wpb": "41", "bsz": "1", \
"num_updates": "2", "lr": "1.198e-05", "gnorm": "290.24", "clip": "100", "train_wall": "0", "wall": "1"}
2026-11-30 20:54:56 | INFO | fairseq_cli.train | Stopping training due to num_updates: 3 >= max_update: 3
2026-11-30 20:54:56 | INFO | train | {"epoch": 1, "train_loss": "163.375", "train_nll_loss": "3.985", \
"train_num_updates": "3", "train_lr": "1.297e-05"}
"""


def test_last_num_updates_of_a_log_tail(tmp_path):
    log = tmp_path / "train.log"
    assert sweep.last_num_updates(str(log)) is None  # not started yet
    log.write_text(SIMPLE_LOG.replace("3000", "2950", 1))  # the progress line says 2950, the line after it 3000
    assert sweep.last_num_updates(str(log)) == 3000
    log.write_text(JSON_LOG)
    assert sweep.last_num_updates(str(log)) == 3
    log.write_text(SIMPLE_LOG + "2026-11-30 20:15:04 | INFO | train_inner | epoch 031: 100 / 100 num_updates=31")
    assert sweep.last_num_updates(str(log)) == 3000  # a half-written last line does not count
    assert sweep.last_num_updates(str(log), offset=len(SIMPLE_LOG)) is None  # an earlier attempt's lines do not count
    log.write_text(SIMPLE_LOG + "x" * 100 + "\n" + ("no progress here\n" * 2000))
    assert sweep.last_num_updates(str(log)) is None  # only the tail is read
    assert sweep.last_num_updates(str(log), tail=len(log.read_text())) == 3000


def test_max_update_of_a_command():
    assert sweep.max_update(["fairseq-train", "d", "--max-update", "20", "--lr", "1", "--max-update", "50"]) == 50
    assert sweep.max_update(["fairseq-train", "d", "--max-update=7"]) == 7
    assert sweep.max_update(["fairseq-train", "d", "--max-epoch", "3"]) is None
    assert sweep.max_update(["fairseq-train", "d", "--max-update", "0"]) is None  # fairseq's "no limit"


def test_eta_from_running_runs():
    # (updates, updates later, max-update, seconds between, seconds from the job's start): 5 and 2.5 updates/s
    runs = [(100, 200, 1000, 20, 50), (50, 100, 1000, 20, 60)]
    # 160 s and 360 s left; a pending run costs a whole run, the mean of 50 + 160 and 60 + 360 s; two workers share
    assert sweep.eta_seconds(runs, pending=2, workers=2) == pytest.approx((160 + 360 + 2 * 315) / 2)
    assert sweep.eta_seconds(runs, pending=0, workers=4) == pytest.approx(360)  # not before the slowest run ends
    # resumed from a checkpoint, its start-up unknown: a whole run is its 1000 updates at 10 updates/s
    assert sweep.eta_seconds([(500, 600, 1000, 10, None)], pending=1, workers=1) == pytest.approx(40 + 100)
    # a run with one progress line so far counts as a whole run of the others
    assert sweep.eta_seconds([(0, 100, 1000, 10, 15), (50, 50, 1000, 0, 8)], pending=0, workers=2) == (
        pytest.approx((90 + 105) / 2))
    assert sweep.eta_seconds([(100, 100, 1000, 0, 20)], pending=3, workers=2) is None
    assert sweep.eta_seconds([(900, 1000, 1000, 10, 100)], pending=0, workers=1) == 0  # training done: FPA is left


def test_scheduler_eta_reads_running_logs(tmp_path):
    args = argparse.Namespace(cluster="local", name="s")

    def spec(index, train, mdl=None):
        return {"index": index, "run_dir": str(tmp_path / str(index)), "config": {}, "train": train, "fpa": None,
                "mdl": mdl, "threads": 1}

    def progress(spec, updates, seconds_later=None):
        """A progress line in the run's log, written ``seconds_later`` than the one before."""
        log = tmp_path / str(spec["index"]) / sweep.TRAIN_LOG
        before = log.stat().st_mtime if log.exists() else None
        with open(log, "a") as f:
            f.write(f"2026-11-30 20:14:54 | INFO | train | epoch 001 | loss 1 | num_updates {updates} | lr 0.001\n")
        if seconds_later is not None:
            os.utime(log, (before + seconds_later, before + seconds_later))

    train = ["fairseq-train", "d", "--max-update", "1000"]
    running, waiting = spec(0, train), spec(1, train)
    scheduler = sweep.Scheduler(args, FakeExecutor(), [waiting], 2, [()])
    scheduler.prepare(running)
    scheduler.active[0] = (running, None, 0)
    sweep.write_json(str(tmp_path / "0" / sweep.STARTED), {"time": time.time() - 100})
    progress(running, 250)
    assert scheduler.seconds_left([running]) is None  # one line tells no rate, and no run has ended
    progress(running, 500, seconds_later=50)
    assert scheduler.seconds_left([running]) is None  # the log is read again only 5 s later
    scheduler.last_estimate = 0
    # 5 updates/s between the lines: 100 s left; a whole run takes the 150 s so far and those 100 s
    assert scheduler.seconds_left([running]) == pytest.approx((100 + 250) / 2, abs=2)

    # a resumed run: its earlier attempt's lines do not count, and its rate needs two lines of this attempt
    resumed = spec(2, train)
    os.makedirs(resumed["run_dir"])
    progress(resumed, 900)
    scheduler = sweep.Scheduler(args, FakeExecutor(), [], 2, [()])
    scheduler.prepare(resumed)
    sweep.write_json(str(tmp_path / "2" / sweep.STARTED), {"time": time.time() - 100})
    assert scheduler.run_progress(resumed) is None
    progress(resumed, 950)
    assert scheduler.run_progress(resumed) == (950, 950, 1000, 0, None)
    progress(resumed, 990, seconds_later=10)
    assert scheduler.run_progress(resumed) == (950, 990, 1000, pytest.approx(10), None)
    # the log cannot tell with --mdl (a pack's too: its members measure after its training) or without
    # --max-update: the runs that ended do
    pack = dict(spec(5, train), members=[spec(6, train, mdl={"add": []}), spec(7, train, mdl={"add": []})])
    for other in (spec(3, train, mdl={"add": []}), spec(4, ["fairseq-train", "d"]), pack):
        scheduler = sweep.Scheduler(args, FakeExecutor(), [], 2, [()])
        scheduler.prepare(other)
        sweep.write_json(str(tmp_path / str(other["index"]) / sweep.STARTED), {"time": time.time() - 100})
        progress(other, 100)
        scheduler.active[other["index"]] = (other, None, 0)
        assert scheduler.run_progress(other) is None and scheduler.seconds_left([other]) is None


def test_a_job_that_ended_before_its_run_began_is_reported_without_a_log_that_does_not_exist(tmp_path, capsys):
    """A local job whose controller was stopped before it opened its files (a sweep paused by SIGSTOP as it
    started the run) leaves no result, no error.json and no log: the report says so and names its folder."""
    from submitit.core.utils import JobPaths

    class EndedJob:
        job_id = "4242"
        paths = JobPaths(tmp_path / "submitit" / "%j", job_id="4242")

        def done(self):
            return True

    spec = {"index": 0, "run_dir": str(tmp_path / "0"), "config": {"seed": 1}, "train": [], "fpa": None,
            "mdl": None, "threads": 1}
    scheduler = sweep.Scheduler(argparse.Namespace(cluster="local", name="s"), FakeExecutor(), [], 1, [()])
    scheduler.prepare(spec)
    scheduler.active[0] = (spec, EndedJob(), 0)
    scheduler.poll()
    [(failed_spec, message, log)] = scheduler.failed
    assert log is None and message == ("the job ended without a result; it wrote no log (its submitit folder: "
                                       f"{sweep.shown(str(tmp_path / 'submitit' / '4242'))})")
    os.makedirs(tmp_path / "submitit" / "4242")
    (tmp_path / "submitit" / "4242" / "4242_0_log.err").write_text("Traceback ...\n")
    scheduler.failed, scheduler.active[0] = [], (spec, EndedJob(), 0)
    scheduler.poll()
    assert scheduler.failed == [(spec, "the job ended without a result", str(EndedJob.paths.stderr))]


def test_dry_run_prints_every_command_and_submits_nothing(task_dir, tmp_path):
    result = run_cli(["python", "tools/sweep.py", *sweep_args(TINY, task_dir, tmp_path / "results", "--dry-run",
                                                              "--fpa", "--mdl")])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 runs of ")
    assert result.stdout.count("fairseq-train ") == 2 * 3 and result.stdout.count("tools.fpa dump") == 2
    assert "run 1 (seed=2):" in result.stdout
    assert not (tmp_path / "results").exists()
    # said once per sweep: this grid sets neither flag, so fairseq-fixed's defaults apply
    assert result.stderr.count("training: ") == 1
    assert ("training: clip-norm 0: no clipping, unlike FIND's 25; sentence-avg off: the loss is averaged over "
            "target tokens, unlike FIND's per-sentence average") in result.stderr


def test_training_settings_said_against_find(task_dir):
    data_bin = [str(task_dir / "fpa" / "data-bin"), "--user-dir", os.path.join(ROOT, "seq_plugins")]
    find_grid = expand(load_grid(os.path.join(ROOT, "hyperparams", "default", "transformer_small.json")))[0]
    assert sweep.training_settings([*data_bin, *render(find_grid)]) == (
        "training: clip-norm 25 (FIND's); sentence-avg on (FIND's)")
    assert sweep.training_settings([*data_bin, *render(find_grid), "--clip-norm", "1"]).startswith(
        "training: clip-norm 1, unlike FIND's 25; sentence-avg on")


# ---- bad input: one line each, nothing written -----------------------------------------------------------------

def test_unknown_flag_is_one_line_naming_key_and_grid(task_dir, tmp_path):
    grid = write_grid(tmp_path / "bad.json", **{"bogus-flag": [1, 2]})
    result = run_cli(["python", "tools/sweep.py", *sweep_args(grid, task_dir, tmp_path / "results")])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"python tools/sweep.py: error: grid {grid}: key 'bogus-flag' (value 1): unrecognized arguments: "
        "--bogus-flag 1"]
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("changes,message", [
    ({"lr": [0.01, "fast"]}, "key 'lr' (value 'fast'): argument --lr: invalid"),
    ({"disable-validation": 1}, "key 'disable-validation' (value 1): unrecognized arguments: 1"),
    ({"arch": "no_such_arch"}, "key 'arch' (value 'no_such_arch'): argument --arch/-a: invalid choice: "
                               "'no_such_arch' (fairseq-train --help lists the choices)"),
    ({"seed": []}, "key 'seed' has an empty list"),
    ({"seed": {"a": 1}}, "key 'seed' has a value of unsupported type dict"),
    ({"save-dir": "/tmp/x"}, "key 'save-dir' is set by the sweep for every run"),
])
def test_bad_grids(task_dir, tmp_path, changes, message):
    grid = write_grid(tmp_path / "bad.json", **changes)
    with pytest.raises(UsageError) as err:
        sweep.main(sweep_args(grid, task_dir, tmp_path / "results"))
    assert str(err.value).startswith(f"grid {grid}") and message in str(err.value)
    assert not (tmp_path / "results").exists()


def test_bad_input(task_dir, tmp_path, capsys):
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"arch": "lstm",\n "seed": [1, 2,]}')
    with pytest.raises(UsageError, match=r"grid .*broken.json: not valid JSON at line 2 column \d+"):
        sweep.main(sweep_args(not_json, task_dir, tmp_path))
    with pytest.raises(UsageError, match=r"--task .* has no fpa/data-bin nor data-bin; make it with"):
        sweep.main(sweep_args(TINY, tmp_path, tmp_path))
    with pytest.raises(UsageError, match=r"--task .* has no fpa/data-bin; make it with"):
        sweep.main(sweep_args(TINY, task_dir / "mul", tmp_path, "--fpa"))
    with pytest.raises(UsageError, match=r"^--extra '--no-such-flag': unrecognized arguments: --no-such-flag$"):
        sweep.main(sweep_args(TINY, task_dir, tmp_path, "--extra", "--no-such-flag"))
    # the grid sets max-update too: --extra's value is the wrong one
    with pytest.raises(UsageError, match=r"^--extra '--max-update fifty': argument --max-update: invalid int value"):
        sweep.main(sweep_args(TINY, task_dir, tmp_path, "--extra", "--max-update fifty"))
    with pytest.raises(SystemExit) as exit_:
        sweep.main(sweep_args(TINY, task_dir, tmp_path, "--cluster", "kubernetes"))
    assert exit_.value.code == 2
    assert "argument --cluster: invalid choice: 'kubernetes'" in capsys.readouterr().err
    with pytest.raises(UsageError, match="--resume: .* holds no sweep"):
        sweep.main(sweep_args(TINY, task_dir, tmp_path / "results", "--resume"))
    made = tmp_path / "results" / "s"
    made.mkdir(parents=True)
    other = {"grid": "other.json", "grid_sha256": "0" * 64, "task": str(task_dir), "extra": [], "runs": []}
    (made / "manifest.json").write_text(json.dumps(other))
    with pytest.raises(UsageError, match=r"s was made by another grid \('other.json'\); resume it with the same"):
        sweep.main(sweep_args(TINY, task_dir, tmp_path / "results", "--resume"))
    # a manifest without runs is not taken for this sweep's, even with its grid, task and --extra
    layout = sweep.task_layout(str(task_dir), False, False)
    (made / "manifest.json").write_text(json.dumps({"grid_sha256": sweep.grid_hash(load_grid(TINY)),
                                                    "task": layout["dir"], "extra": []}))
    with pytest.raises(UsageError, match=r"s/manifest.json: no list 'runs'; remove .* or choose another --name$"):
        sweep.main(sweep_args(TINY, task_dir, tmp_path / "results"))
    assert os.listdir(made) == ["manifest.json"]


# ---- local runs ------------------------------------------------------------------------------------------------

def test_end_to_end_throttled_with_failing_runs(task_dir, tmp_path):
    """Four runs on two workers, with FPA and description length; the two with dropout 2 fail in fairseq."""
    grid = write_grid(tmp_path / "grid.json", dropout=[0.1, 2.0])
    results = tmp_path / "results"
    out = run_cli(["python", "tools/sweep.py", *sweep_args(grid, task_dir, results, "--fpa", "--mdl",
                                                           "--n-workers", "2")])
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith("sweep s: 2 done, 2 failed, 0 skipped")
    assert "sweep s: 2 done, 0 running, 2 failed, 0 pending" in out.stderr
    cores = len(os.sched_getaffinity(0))
    threads = max(1, cores // 2)
    assert out.stderr.splitlines()[0] == (f"sweep s: 4 runs, 2 workers, {threads} thread{'s' * (threads > 1)} per run "
                                          f"({cores} cores / 2 workers; --threads to change)")
    for index, label in enumerate(["seed=1, dropout=0.1", "seed=1, dropout=2.0", "seed=2, dropout=0.1",
                                   "seed=2, dropout=2.0"]):  # each said once, as it starts
        log = shown(results / "s" / str(index) / "train.log")
        assert out.stderr.splitlines().count(f"run {index} ({label}): log {log}") == 1
    manifest = json.load(open(results / "s" / "manifest.json"))
    assert manifest["axes"] == ["seed", "dropout"]  # the grid's order: the last axis varies fastest
    assert [(r["config"]["seed"], r["config"]["dropout"]) for r in manifest["runs"]] == [
        (1, 0.1), (1, 2.0), (2, 0.1), (2, 2.0)]

    spans = []
    for index, seed in ((0, 1), (2, 2)):
        run_dir = results / "s" / str(index)
        result = json.load(open(run_dir / "result.json"))
        assert result["config"]["seed"] == seed and result["valid_loss"] > 0
        dump = fpa.read_dump(str(run_dir / result["fpa_dump"]))
        assert result["fpa"] == fpa.aggregate(fpa.read_rules(str(task_dir / "rules.json")), {"d": dump})["fpa"]
        assert set(result["fpa"]) == {"add", "mul"} and result["fpa_probes"] == ["a a", "a a a a"]
        for rule in ("add", "mul"):
            mdl = json.load(open(run_dir / "mdl" / rule / "mdl.json"))
            assert result["description_length"][rule] == mdl["description_length"] > 0
            assert len(mdl["block_codelengths"]) == 2  # two hold-outs in blocks of 1
            assert not [n for n in os.listdir(run_dir / "mdl" / rule) if n.endswith(".pt")]
        assert (run_dir / "checkpoints" / "checkpoint_last.pt").exists()
        params = json.load(open(run_dir / "params.json"))
        assert params["train"][-4:] == ["--seed", str(seed), "--dropout", "0.1"]
        assert set(params["mdl"]) == {"add", "mul"} and params["threads"] == max(1, len(os.sched_getaffinity(0)) // 2)
        timing = result["timing"]
        assert timing["submitted"] <= timing["job_started"] <= timing["first_step"] <= timing["finished"]
        spans.append((timing["job_started"], timing["finished"]))
    for index, seed in ((1, 1), (3, 2)):
        log = results / "s" / str(index) / "train.log"
        assert (f"  run {index} (seed={seed}, dropout=2.0): train: fairseq-train exited with status 1; "
                f"log: {shown(log)}") in out.stdout.splitlines()
        assert "dropout probability has to be between 0 and 1" in log.read_text()
        assert not (results / "s" / str(index) / "result.json").exists()
        error = json.load(open(results / "s" / str(index) / "error.json"))
        spans.append((error["started"], error["finished"]))
    assert intervals_overlap(spans) == 2  # submitit's local executor alone would start all four at once

    from tools import report

    rows = report.main([str(results / "s")])
    assert [(r["dropout"], r["n"], r["failed"], r["dl_n"]) for r in rows] == [(0.1, 2, 0, 2), (2.0, 0, 2, 0)]
    # each seed's line: the rule tools.fpa aggregate found, or its reason for none, carried by fpa_agreement.json
    rules = fpa.read_rules(str(task_dir / "rules.json"))
    for index, seed in ((0, 1), (2, 2)):
        found = fpa.aggregate(rules, {"d": fpa.read_dump(str(results / "s" / str(index) / "fpa.jsonl"))})["seeds"]["d"]
        assert (f"- dropout=0.1, seed {seed} -> " + (found["rule"] or f"none: {found['why_none']}")
                in (results / "s" / "report.md").read_text().splitlines())
    assert {f for f in os.listdir(results / "s") if f.startswith(("report", "fpa", "desc"))} == {
        "report.md", "report.csv", "fpa.png", "description_length.png"}


def test_resume_after_sigkill(task_dir, tmp_path):
    grid = write_grid(tmp_path / "grid.json", seed=[1, 2, 3])
    results = tmp_path / "results"
    command = [sys.executable, "tools/sweep.py", *sweep_args(grid, task_dir, results)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    sweeper = subprocess.Popen([*command, "--n-workers", "1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    first, killed = results / "s" / "0", results / "s" / "1"
    deadline = time.time() + 180
    while not (killed / "started.json").exists():  # run 0 has finished, run 1 is starting
        assert sweeper.poll() is None and time.time() < deadline, "the sweep ended before it could be killed"
        time.sleep(0.1)
    job_pid = json.load(open(killed / "started.json"))["pid"]
    mtime = os.stat(first / "result.json").st_mtime_ns
    os.kill(sweeper.pid, signal.SIGKILL)
    sweeper.wait()
    for _ in range(100):  # the orphaned job notices that its sweep is gone and stops
        try:
            os.kill(job_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the job of a killed sweep kept running")
    assert not (killed / "result.json").exists() and not (results / "s" / "2").exists()

    out = subprocess.run([*command, "--n-workers", "2", "--cpus-per-job", "1"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr.splitlines()[0] == "sweep s: 3 runs, 2 workers, 1 thread per run (--threads)"  # its old name
    assert out.stdout.startswith("sweep s: 2 done, 0 failed, 1 skipped")
    took_over = [line for line in out.stderr.splitlines() if line.startswith("sweep: took over the lock")]
    assert len(took_over) == 1 and f"pid {sweeper.pid}," in took_over[0] and "its process is gone" in took_over[0]
    assert not (results / "s" / "sweep.lock").exists()  # released at the end
    assert os.stat(first / "result.json").st_mtime_ns == mtime  # not redone
    assert all((results / "s" / str(i) / "result.json").exists() for i in (1, 2))
    assert (killed / "train.log").read_text().count("done training") == 1


def test_a_second_sweep_on_the_same_directory_refuses_or_waits(task_dir, tmp_path):
    grid = write_grid(tmp_path / "grid.json", seed=[1])
    results = tmp_path / "results"
    command = [sys.executable, "tools/sweep.py", *sweep_args(grid, task_dir, results), "--n-workers", "1"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock, deadline = results / "s" / "sweep.lock", time.time() + 180
    while not (results / "s" / "0" / "started.json").exists():  # the first sweep holds the lock and trains
        assert first.poll() is None and time.time() < deadline, "the first sweep ended before the second began"
        time.sleep(0.1)
    holder = json.loads(lock.read_text())
    assert holder["pid"] == first.pid and holder["host"] == socket.gethostname()

    os.kill(first.pid, signal.SIGSTOP)  # it holds the lock, alive, however fast its runs
    try:
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    errors = [line for line in second.stderr.splitlines() if "in use by another sweep" in line]
    assert second.returncode == 2 and len(errors) == 1, second.stderr
    assert f"{results / 's'} is in use by another sweep (host {holder['host']}, pid {first.pid}, started " \
           f"{holder['started']}); --wait to wait for it" in errors[0]
    assert not [line for line in second.stderr.splitlines() if line.startswith("run ")]  # it started no run
    assert json.loads(lock.read_text()) == holder

    out, err = first.communicate()
    assert first.returncode == 0 and out.startswith("sweep s: 1 done, 0 failed, 0 skipped"), out + err
    assert not lock.exists()

    from tools.sweep_lock import SweepLock

    with SweepLock(str(results / "s")):  # a holder that stays until the waiting sweep says it waits
        waiting = subprocess.Popen(command + ["--wait"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        said = waiting.stderr.readline()
        while said.startswith(("sweep s:", "training:")):
            said = waiting.stderr.readline()
        assert said.startswith(f"sweep: waiting for {results / 's'}, in use by another sweep "
                               f"(host {socket.gethostname()}, pid {os.getpid()}, started "), said
    out, err = waiting.communicate()
    assert waiting.returncode == 0 and out.startswith("sweep s: 0 done, 0 failed, 1 skipped"), out + err
    assert (results / "s" / "0" / "train.log").read_text().count("done training") == 1
    assert not lock.exists()


def test_a_stale_lock_is_taken_over_and_a_live_one_is_not(tmp_path, capsys):
    from tools.sweep_lock import SweepLock

    lock = tmp_path / "sweep.lock"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = {"host": socket.gethostname(), "pid": gone.pid, "process_start": None, "started": "then", "token": "a"}
    elsewhere = {"host": "elsewhere", "pid": 1, "process_start": None, "started": "then", "token": "b"}
    lock.write_text(json.dumps(here))
    with SweepLock(str(tmp_path)):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()
    assert capsys.readouterr().err == (f"sweep: took over the lock of {tmp_path} from a sweep that is no longer "
                                       f"running (host {here['host']}, pid {gone.pid}, started then: its process "
                                       f"is gone)\n")

    lock.write_text(json.dumps(elsewhere))  # another host's sweep with a fresh heartbeat: alive as far as we know
    with pytest.raises(UsageError, match=r"in use by another sweep \(host elsewhere, pid 1, started then\)"):
        SweepLock(str(tmp_path)).acquire()
    with pytest.raises(UsageError, match="in use by another sweep"):  # this host, a live process (this one)
        lock.write_text(json.dumps({**here, "pid": os.getpid(), "process_start": None}))
        SweepLock(str(tmp_path)).acquire()
    lock.write_text(json.dumps(elsewhere))
    old = time.time() - 400
    os.utime(lock, (old, old))  # its heartbeat stopped 400 s ago
    with SweepLock(str(tmp_path), heartbeat_s=0.05) as held:
        before = os.stat(lock).st_mtime
        time.sleep(0.3)
        assert os.stat(lock).st_mtime > before  # the holder's heartbeat
        assert json.loads(lock.read_text())["token"] == held.token
    assert "(host elsewhere, pid 1, started then: no heartbeat for 400 s)" in capsys.readouterr().err


# ---- a real single-node SLURM cluster --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    reason = ensure_installed()
    if reason:
        print(f"SLURM test skipped: {reason}")
        pytest.skip(reason)
    cluster = Cluster(tmp_path_factory.mktemp("slurm"))
    cluster.start()
    yield cluster
    cluster.stop()


def squeue(cluster, job_id):
    out = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T %r"], env=cluster.env, capture_output=True,
                         text=True)
    return out.stdout.strip()


def test_slurm_sweep_with_preemption(slurm, task_dir, tmp_path):
    """Two runs as a job array; run 0 is preempted mid-training, requeued, and fairseq resumes its checkpoint."""
    grid = write_grid(tmp_path / "grid.json", **{"max-update": 200, "save-interval-updates": 10})
    results = tmp_path / "results"
    env = dict(slurm.env, PYTHONWARNINGS="ignore")
    sweeper = subprocess.Popen(
        [sys.executable, "tools/sweep.py", *sweep_args(grid, task_dir, results, "--cluster", "slurm",
                                                       "--timeout-min", "30")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_dir = results / "s" / "0"
    deadline = time.time() + 120
    while not (run_dir / "checkpoints" / "checkpoint_last.pt").exists():
        assert sweeper.poll() is None and time.time() < deadline, sweeper.communicate()
        time.sleep(0.2)
    job_id = json.load(open(run_dir / "started.json"))["job_id"]
    subprocess.run(["scancel", "--signal=USR2", job_id], env=slurm.env, check=True)  # what preemption sends
    while not squeue(slurm, job_id).startswith("PENDING"):  # requeued, and held a few minutes: release it now
        assert sweeper.poll() is None and time.time() < deadline, sweeper.communicate()
        time.sleep(0.2)
    # slurmd refuses ("credential revoked") a start in the same second as the requeue; real preemption waits longer
    time.sleep(2)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], env=slurm.env, check=True)
    stdout, stderr = sweeper.communicate(timeout=180)
    assert sweeper.returncode == 0, stdout + stderr
    assert stdout.startswith("sweep s: 2 done, 0 failed, 0 skipped")
    jobs = [result["job_id"] for result in results_of(results, 2)]
    assert jobs == [f"{jobs[0].split('_')[0]}_{i}" for i in (0, 1)]  # one job array
    log = (run_dir / "train.log").read_text()
    first, resumed = log.split("Loaded checkpoint")
    assert "| fairseq_cli.train | {" in first and " updates)" in resumed.splitlines()[0]
    assert "num_updates: 200 >= max_update: 200" in resumed


def test_seeds_packed_into_one_process(task_dir, tmp_path):
    """--seeds-per-process 2: each dropout's two seeds train as one seed_ensemble; its runs get the same FPA dumps
    as unpacked runs and each its own description lengths (one prequential ensemble per candidate), a failed pack
    reports its seeds, and a resumed sweep never retrains a trained seed."""
    grid = write_grid(tmp_path / "grid.json", dropout=[0.1, 2.0])
    packed = tmp_path / "packed"
    args = ["python", "tools/sweep.py", *sweep_args(grid, task_dir, packed, "--fpa", "--mdl", "--n-workers", "1",
                                                    "--seeds-per-process", "2")]
    out = run_cli(args)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "sweep s: 4 runs to do in 2 processes (up to 2 seeds per process" in out.stderr
    assert f"run 0+2 (seed=1,2, dropout=0.1): log {shown(packed / 's' / 'packs' / '0+2' / 'train.log')}" in out.stderr
    failed = shown(packed / "s" / "packs" / "1+3" / "train.log")
    for index, seed in ((1, 1), (3, 2)):
        assert re.search(rf"run {index} \(seed={seed}, dropout=2.0\): train: .* \(in the pack of seeds 1,2\); "
                         rf"log: {re.escape(failed)}", out.stdout), out.stdout

    alone = tmp_path / "alone"
    out = run_cli(["python", "tools/sweep.py", *sweep_args(write_grid(tmp_path / "one.json", dropout=0.1), task_dir,
                                                           alone, "--fpa", "--seeds-per-process", "1")])
    assert out.returncode == 0, out.stdout + out.stderr
    for packed_index, alone_index in ((0, 0), (2, 1)):
        result = json.load(open(packed / "s" / str(packed_index) / "result.json"))
        assert result["ensemble"]["seeds"] == [1, 2]
        assert set(result["description_length"]) == set(RULES) and min(result["description_length"].values()) > 0
        for rule in RULES:
            assert json.load(open(packed / "s" / str(packed_index) / "mdl" / rule / "mdl.json"))["seed"] == \
                result["config"]["seed"]
        assert (packed / "s" / str(packed_index) / "fpa.jsonl").read_text() == \
            (alone / "s" / str(alone_index) / "fpa.jsonl").read_text()
    mdl_dirs = list((packed / "s" / "packs").glob("*/mdl/*"))
    assert mdl_dirs and not [p for d in mdl_dirs for p in d.glob("*.pt")]  # the prequential trainings' checkpoints

    os.remove(packed / "s" / "0" / "result.json")
    trained = json.load(open(packed / "s" / "0" / "steps.json"))["train"]
    out = run_cli(args)
    assert f"run 0 (seed=1, dropout=0.1): log {shown(packed / 's' / '0' / 'train.log')}" in out.stderr
    assert json.load(open(packed / "s" / "0" / "steps.json"))["train"] == trained
    assert json.load(open(packed / "s" / "0" / "result.json"))["fpa"] is not None
