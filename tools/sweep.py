"""Run every configuration of a JSON grid as a submitit job, on local workers or a SLURM cluster.

    python tools/sweep.py --sweep hyperparams/default/lstm_attention_small.json --task data/find/add-or-mul/20 \
        --fpa --mdl [--n-workers 2 --threads 1] [--cluster slurm --slurm-partition P --gpus-per-job 1] [--dry-run]

--task is a data set of ``python -m preprocess.find`` (``<task>/fpa/data-bin``, ``rules.json`` and one data set per
candidate rule) or any directory with a ``data-bin`` (then without --fpa and --mdl). Each run trains with stock
fairseq-train on the fpa data set; with --fpa it dumps greedy predictions over the probes and scores them against
every rule (tools.fpa); with --mdl it measures the prequential description length of every candidate data set
(--task prequential_translation --criterion prequential_mdl; grid keys starting with ``mdl-`` go to these runs only).
Before anything runs it says, on stderr, how many runs go on how many workers with how many CPU threads each
(--threads; by default the local cores divided among the workers, 1 on SLURM), then which gradient clipping and loss
averaging the runs get, against FIND's (--clip-norm 25, fairseq 0.9's default, and --sentence-avg); a grid may depart
from them. As each run starts it says where its log is; the ETA of the progress line comes from the running runs'
updates against their --max-update (without one, or with --mdl, from the runs that ended).

Layout: ``<results-dir>/<name>/manifest.json`` (the grid, its hash, the expanded runs, the task and the flags) and one
directory per run index holding ``params.json`` (the exact commands), ``train.log``, ``checkpoints/``, ``fpa.jsonl``,
``mdl/<rule>/`` and, written last and atomically, ``result.json``. Re-running the same command (or --resume) skips
runs whose result.json is complete and resumes the others: finished steps are kept (steps.json) and fairseq-train
resumes from checkpoint_last.pt. Killing the sweep stops its local runs; nothing but result.json marks a run finished.
One sweep at a time uses a results directory (tools/sweep_lock.py): a second refuses, naming the first's host, pid
and start time, or waits with --wait; the lock of a killed sweep is taken over.
"""
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import submitit

# Run as a script, Python puts tools/ on sys.path, not the repository root that `tools` and `seq_plugins` live in.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools import seed_packs  # noqa: E402
from tools.atomic_files import read_json, write_json  # noqa: E402
from tools.sweep_lock import LOCK, SweepLock  # noqa: E402

PROG = "python tools/sweep.py"
RESULT, STEPS, STARTED, ERROR, PARAMS = "result.json", "steps.json", "started.json", "error.json", "params.json"
TRAIN_LOG = "train.log"
VALID_LOSS = re.compile(r"valid on '[^']*' subset \| loss (\S+)")


# ---- inside a job ----------------------------------------------------------------------------------------------
# Every job unpickles RunOne and so imports this module: the code up to the sweep section imports nothing heavy
# (seq_plugins and fairseq take seconds to import); the steps run as subprocesses.

def is_complete(result, spec):
    """A result.json that holds everything this run is asked for."""
    if not isinstance(result, dict) or result.get("config") != spec["config"]:
        return False
    if spec["fpa"] and result.get("fpa") is None:
        return False
    return not spec["mdl"] or set(spec["mdl"]) <= set(result.get("description_length") or {})


def last_valid_loss(log_path):
    try:
        with open(log_path) as f:
            losses = VALID_LOSS.findall(f.read())
    except OSError:
        return None
    try:
        return float(losses[-1]) if losses else None
    except ValueError:
        return None


def job_id():
    """The id that submitit and squeue show: <array job>_<task> for a task of a SLURM array."""
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID") or env.get("SUBMITIT_LOCAL_JOB_ID")


class RunFailed(Exception):
    def __init__(self, message, log):
        super().__init__(message)
        self.log = log


class Attempt:
    """One attempt at one run: the steps not yet recorded in steps.json, each a subprocess, then result.json."""

    def __init__(self, spec):
        self.spec = spec
        self.dir = spec["run_dir"]
        self.steps = read_json(self.path(STEPS)) or {}
        self.env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]), MKL_NUM_THREADS=str(spec["threads"]),
                        PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
        self.process = None
        self.started = time.time()
        self.first_step = None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def call(self, command, log_path):
        """Run a step in its own process group, so that stopping this job stops the step and its children."""
        self.first_step = self.first_step or time.time()
        with open(log_path, "a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
            try:
                return self.process.wait()
            finally:  # reached with the process alive when submitit requeues (SystemExit) or on Ctrl-C
                self.stop_step()

    def stop_step(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def watch_owner(self, owner_pid):
        """Local jobs outlive a killed sweep (submitit's controller is a plain child process): end this one, and
        its step, once the sweep is gone, so that a resumed sweep never runs beside a leftover."""
        def watch():
            while True:
                time.sleep(1)
                try:
                    os.kill(owner_pid, 0)
                except ProcessLookupError:
                    self.stop_step()
                    os._exit(1)

        threading.Thread(target=watch, daemon=True).start()

    def step(self, name, commands, log_path, record=None):
        if name in self.steps:
            return self.steps[name]
        began = time.time()
        for command in commands:
            status = self.call(command, log_path)
            if status != 0:
                raise RunFailed(f"{name}: {os.path.basename(command[0])} exited with status {status}", log_path)
        self.steps[name] = {"wall_s": round(time.time() - began, 3), **(record() if record else {})}
        write_json(self.path(STEPS), self.steps)
        return self.steps[name]

    def begin(self):
        write_json(self.path(STARTED), {"time": self.started, "host": socket.gethostname(), "pid": os.getpid(),
                                        "job_id": job_id()})
        if self.spec["owner_pid"]:
            self.watch_owner(self.spec["owner_pid"])

    def run(self):
        spec = self.spec
        self.begin()
        train_log = self.path(TRAIN_LOG)
        train = self.step("train", [spec["train"]], train_log, lambda: {"valid_loss": last_valid_loss(train_log)})
        fpa = None
        if spec["fpa"]:
            agreement = self.path("fpa_agreement.json")
            fpa = self.step("fpa", [spec["fpa"]["dump"], spec["fpa"]["aggregate"]], self.path("fpa.log"),
                            lambda: {key: read_json(agreement)[key] for key in ("fpa", "probes")})
        lengths = {}
        for rule, command in (spec["mdl"] or {}).items():
            out = self.path("mdl", rule)
            os.makedirs(out, exist_ok=True)
            record = self.step(f"mdl/{rule}", [command], os.path.join(out, "train.log"),
                               lambda: {"description_length": read_json(os.path.join(out, "mdl.json"))
                                        ["description_length"]})
            lengths[rule] = record["description_length"]
            seed_packs.drop_checkpoints(out)
        result = {
            "index": spec["index"],
            "config": spec["config"],
            "params": PARAMS,
            "command": spec["train"],
            "valid_loss": train["valid_loss"],
            "wall_time_s": round(sum(s["wall_s"] for s in self.steps.values()), 3),
            "train_wall_s": train["wall_s"],
            "ensemble": train.get("ensemble"),  # trained with other seeds in one process (tools/seed_packs.py)
            "fpa_dump": "fpa.jsonl" if fpa else None,
            "fpa": fpa["fpa"] if fpa else None,
            "fpa_probes": fpa["probes"] if fpa else None,
            "description_length": lengths or None,
            "host": socket.gethostname(),
            "job_id": job_id(),
            "timing": {"submitted": spec["submitted"], "job_started": self.started, "first_step": self.first_step,
                       "finished": time.time()},
        }
        write_json(self.path(RESULT), result)
        return result


def run(spec):
    """Execute one run or one pack of seeds (``spec`` is made by the sweep); returns the content of its
    result.json, or its members' for a pack."""
    os.makedirs(spec["run_dir"], exist_ok=True)
    with open(os.path.join(spec["run_dir"], ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a duplicate submission waits for the other attempt, then reuses it
        if "members" in spec:
            if all(is_complete(read_json(os.path.join(m["run_dir"], RESULT)), m) for m in spec["members"]):
                return [read_json(os.path.join(m["run_dir"], RESULT)) for m in spec["members"]]
        else:
            result = read_json(os.path.join(spec["run_dir"], RESULT))
            if is_complete(result, spec):
                return result
        attempt = Attempt(spec)
        try:
            if "members" in spec:
                return seed_packs.run_pack(spec, attempt, run, TRAIN_LOG, STEPS)
            return attempt.run()
        except Exception as err:
            write_json(os.path.join(spec["run_dir"], ERROR),
                       {"message": str(err) or type(err).__name__, "log": getattr(err, "log", None),
                        "started": attempt.started, "finished": time.time()})
            raise
        finally:  # ended, failed or requeued: not running any more
            if os.path.exists(attempt.path(STARTED)):
                os.remove(attempt.path(STARTED))


class RunOne(submitit.helpers.Checkpointable):
    """The submitit job. On time-out or preemption submitit calls checkpoint(), which resubmits this same call
    (a DelayedSubmission of itself); the new attempt skips finished steps and fairseq resumes from its checkpoint."""

    def __call__(self, spec):
        return run(spec)


# ---- the sweep -------------------------------------------------------------------------------------------------

def fmt_duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


# fairseq's progress lines: "| num_updates 120 |" (simple), "num_updates=120" (tqdm), "train_num_updates": "120"
# (json), and the last line "num_updates: 200 >= max_update: 200"
NUM_UPDATES = re.compile(r'num_updates"?[ =:]+"?(\d+)')


def last_num_updates(log_path, offset=0, tail=16384):
    """The last num_updates that fairseq logged in ``log_path`` after byte ``offset``, read from the file's last
    ``tail`` bytes only (logs grow large); None before the first one."""
    try:
        with open(log_path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(offset, size - tail))
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    found = NUM_UPDATES.findall(text[:text.rfind("\n") + 1])  # whole lines: the last one may be half written
    return int(found[-1]) if found else None


def max_update(command):
    """The --max-update of a fairseq-train command (its last one, as fairseq's parser keeps); None without a limit."""
    value = None
    for i, arg in enumerate(command):
        if arg == "--max-update" and i + 1 < len(command):
            value = command[i + 1]
        elif arg.startswith("--max-update="):
            value = arg.split("=", 1)[1]
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


def eta_seconds(runs, pending, workers):
    """Seconds until a sweep ends, from its running runs' own progress. ``runs`` holds, per running run, (its
    updates at one time, its updates later, its max-update, seconds between the two, seconds from its job's start to
    the later time or None when it resumed a checkpoint). A run costs its age plus its remaining updates at its rate;
    a run without two counts yet, and each of the ``pending`` runs, costs the mean of that over the others. The work
    is spread over ``workers``; None while no running run has a rate."""
    left, whole = [], []  # per run with a rate: seconds left, seconds of the whole run
    for first, now, target, seconds, age in runs:
        if now > first and seconds > 0:
            rate = (now - first) / seconds
            left.append(max(0, target - now) / rate)
            whole.append(target / rate if age is None else age + left[-1])
    if not left:
        return None
    waiting = pending + len(runs) - len(left)
    return max(max(left), (sum(left) + waiting * sum(whole) / len(whole)) / workers)


def gpu_groups(n_gpus, per_job):
    """Disjoint sets of GPU ids, one per concurrent local job (worker slot k uses group k modulo their number)."""
    if not per_job:
        return [()]
    return [tuple(range(k * per_job, (k + 1) * per_job)) for k in range(n_gpus // per_job)]


def default_name(grid_path, task_dir):
    parts = os.path.normpath(os.path.abspath(task_dir)).split(os.sep)[-2:]
    return "-".join([os.path.splitext(os.path.basename(grid_path))[0], *parts])


def task_layout(task_dir, fpa, mdl):
    """The data sets of --task: {"train_bin", "fpa_dir", "rules_path", "rules"}; checked before anything runs."""
    from seq_cli import UsageError
    from tools.fpa import read_rules

    task_dir = os.path.abspath(task_dir)
    if not os.path.isdir(task_dir):
        raise UsageError(f"--task {task_dir}: no such directory")
    fpa_dir = os.path.join(task_dir, "fpa")
    if os.path.isdir(os.path.join(fpa_dir, "data-bin")):
        train_bin = os.path.join(fpa_dir, "data-bin")
    elif os.path.isdir(os.path.join(task_dir, "data-bin")) and not (fpa or mdl):
        train_bin = os.path.join(task_dir, "data-bin")
    else:
        raise UsageError(f"--task {task_dir} has no fpa/data-bin" + ("" if fpa or mdl else " nor data-bin") +
                         "; make it with python -m preprocess.find")
    layout = {"dir": task_dir, "train_bin": train_bin, "fpa_dir": fpa_dir, "rules": None}
    if fpa or mdl:
        layout["rules_path"] = os.path.join(task_dir, "rules.json")
        layout["rules"] = read_rules(layout["rules_path"])
    if mdl:
        for rule in layout["rules"]["rules"]:
            if not os.path.isdir(os.path.join(task_dir, rule, "data-bin")):
                raise UsageError(f"--mdl: --task {task_dir} has no data set {rule}/data-bin for candidate {rule!r}")
    return layout


def make_specs(configs, layout, sweep_dir, extra, fpa, mdl):
    from tools.transduction_run import train_command

    fairseq_train = os.path.join(os.path.dirname(sys.executable), "fairseq-train")
    specs = []
    for index, config in enumerate(configs):
        run_dir = os.path.join(sweep_dir, str(index))
        base = {k: v for k, v in config.items() if not k.startswith("mdl-")}
        spec = {"index": index, "run_dir": run_dir, "config": config,
                "train": [fairseq_train, *train_command(layout["train_bin"], os.path.join(run_dir, "checkpoints"),
                                                        base)[1:], *extra],
                "fpa": None, "mdl": None}
        if fpa:
            dump = os.path.join(run_dir, "fpa.jsonl")
            spec["fpa"] = {
                "dump": [sys.executable, "-m", "tools.fpa", "dump", "--checkpoint",
                         os.path.join(run_dir, "checkpoints", "checkpoint_last.pt"), "--data", layout["fpa_dir"],
                         "--out", dump],
                "aggregate": [sys.executable, "-m", "tools.fpa", "aggregate", "--rules", layout["rules_path"],
                              "--json", os.path.join(run_dir, "fpa_agreement.json"), dump]}
        if mdl:
            # T's size and the block size come from rules.json, read by the task itself
            mdl_config = {**base, "task": "prequential_translation", "criterion": "prequential_mdl",
                          **{k: v for k, v in config.items() if k.startswith("mdl-")}}
            spec["mdl"] = {rule: [fairseq_train, *train_command(os.path.join(layout["dir"], rule, "data-bin"),
                                                                os.path.join(run_dir, "mdl", rule),
                                                                mdl_config)[1:], *extra]
                           for rule in layout["rules"]["rules"]}
        specs.append(spec)
    return specs


def flags_in(message):
    return re.findall(r"(?<![\w-])--([\w-]+)", message)


def validate(grid_path, specs, extra):
    """Parse every command with fairseq-train's own parser, the plugin loaded, before anything is submitted."""
    import contextlib
    import io
    import logging

    from fairseq import options

    from seq_cli import UsageError
    from tools.grid import render

    def parse(argv):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                options.parse_args_and_arch(options.get_training_parser(), argv)
        except SystemExit:
            lines = err.getvalue().strip().splitlines() or ["rejected"]
            return lines[-1].split("error: ", 1)[-1]
        except Exception as exc:  # a plugin's own check, e.g. a UsageError
            return str(exc) or type(exc).__name__
        return None

    def without(argv, key, value):
        tokens = render({key: value})
        for i in range(len(argv) - len(tokens), -1, -1):
            if argv[i:i + len(tokens)] == tokens:
                return argv[:i] + argv[i + len(tokens):]
        return argv

    logging.getLogger("fairseq").setLevel(logging.WARNING)  # "--user-dir has already been imported", per run
    checked = set()
    for spec in specs:
        # runs that differ only in their seed (and so their --save-dir) parse alike: fairseq's parser runs once
        # per distinct configuration, not once per seed
        distinct = json.dumps({k: v for k, v in spec["config"].items() if k != "seed"}, sort_keys=True)
        if distinct in checked:
            continue
        checked.add(distinct)
        for command in [spec["train"], *list((spec["mdl"] or {}).values())[:1]]:
            message = parse(command[1:])
            if message is None:
                continue
            if len(message) > 300:  # the choices of --arch fill a screen
                message = re.sub(r" \(choose from .*\)", " (fairseq-train --help lists the choices)", message)
            where = "" if command is spec["train"] else " (in the --mdl runs)"
            if extra and parse(command[1:-len(extra)]) is None:  # --extra comes last: the grid alone parses
                raise UsageError(f"--extra {shlex.join(extra)!r}{where}: {message}")
            config = spec["config"]
            blamed = [k for k in flags_in(message) if k in config]
            if not blamed and not set(flags_in(message)) & set(flags_in(" ".join(extra))):
                # e.g. "unrecognized arguments: 1": the key whose removal makes the command parse
                blamed = [k for k, v in config.items() if parse(without(command[1:], k, v)) is None][:1]
            if blamed:
                key = blamed[0]
                raise UsageError(f"grid {grid_path}: key {key!r} (value {config[key]!r}){where}: {message}")
            raise UsageError(f"grid {grid_path} with --extra {shlex.join(extra)!r}{where}: {message}")


FIND_CLIP_NORM = 25  # fairseq 0.9's default --clip-norm, which FIND trained with (fairseq-fixed 0.12's is 0)


def training_settings(argv):
    """The gradient clipping and loss averaging a fairseq-train command gets, said against FIND's (one line)."""
    from fairseq import options

    args = options.parse_args_and_arch(options.get_training_parser(), argv)
    if args.clip_norm == FIND_CLIP_NORM:
        clip = f"clip-norm {args.clip_norm:g} (FIND's)"
    elif args.clip_norm <= 0:
        clip = f"clip-norm {args.clip_norm:g}: no clipping, unlike FIND's {FIND_CLIP_NORM}"
    else:
        clip = f"clip-norm {args.clip_norm:g}, unlike FIND's {FIND_CLIP_NORM}"
    average = ("sentence-avg on (FIND's)" if args.sentence_avg else
               "sentence-avg off: the loss is averaged over target tokens, unlike FIND's per-sentence average")
    return f"training: {clip}; {average}"


def grid_hash(grid):
    import hashlib

    return hashlib.sha256(json.dumps(grid).encode()).hexdigest()  # key order matters: it fixes the run indices


def read_manifest(path, advice):
    """A sweep's manifest.json; a UsageError naming the file and what is wrong, then ``advice``, when it is not one
    this file writes."""
    from seq_cli import UsageError

    try:
        with open(path) as f:
            manifest = json.load(f)
    except ValueError as err:
        raise UsageError(f"{path}: not valid JSON ({err}); {advice}") from None
    runs = manifest.get("runs") if isinstance(manifest, dict) else None
    if not isinstance(runs, list):
        raise UsageError(f"{path}: no list 'runs'; {advice}")
    for i, run in enumerate(runs):
        if not (isinstance(run, dict) and isinstance(run.get("index"), int) and isinstance(run.get("config"), dict)):
            raise UsageError(f"{path}: runs[{i}] is not {{\"index\": int, \"config\": {{...}}}}; {advice}")
    return manifest


def check_manifest(sweep_dir, manifest, resume):
    """Refuse to mix runs of another grid, task or --extra into an existing results directory."""
    from seq_cli import UsageError

    path = os.path.join(sweep_dir, "manifest.json")
    if not os.path.exists(path):
        if resume:
            raise UsageError(f"--resume: {sweep_dir} holds no sweep (no manifest.json)")
        # what a sweep killed before its manifest was in place leaves: its lock and a partial manifest
        left_by_a_killed_sweep = {LOCK, "manifest.json.tmp"}
        if os.path.isdir(sweep_dir) and set(os.listdir(sweep_dir)) - left_by_a_killed_sweep:
            raise UsageError(f"{sweep_dir} is not empty and holds no manifest.json; choose another --name")
        return
    old = read_manifest(path, f"remove {sweep_dir} or choose another --name")
    for key, what in (("grid_sha256", "grid"), ("task", "--task"), ("extra", "--extra")):
        if old.get(key) != manifest[key]:
            before = old.get("grid") if key == "grid_sha256" else old.get(key)
            raise UsageError(f"{sweep_dir} was made by another {what} ({before!r}); resume it with the same "
                             f"{what}, or choose another --name")


class Scheduler:
    """Keeps at most `capacity` jobs alive (all at once on SLURM, where the array's parallelism throttles), polls
    them, and reports progress on stderr."""

    def __init__(self, args, executor, specs, capacity, gpu_groups, axes=()):
        self.args, self.executor, self.capacity, self.gpu_groups, self.axes = args, executor, capacity, gpu_groups, axes
        self.pending = list(specs)
        self.active = {}  # index -> (spec, job, worker slot)
        self.done, self.failed = [], []
        self.began = time.time()
        self.last_counts, self.last_print = None, 0.0
        self.queued, self.last_squeue = set(), 0.0  # SLURM job ids that squeue lists, and when it was asked
        self.gone = {}  # SLURM jobs missing from squeue, since when
        self.announced = set()  # runs whose log path was said
        self.log_offsets = {}  # index -> size of train.log before this attempt: what follows is this attempt's
        self.first_seen = {}  # index -> (time, updates) of the first progress line seen of this attempt
        self.finish_at, self.last_estimate = None, 0.0  # when the running runs' logs say the sweep ends

    def submit(self):
        if self.args.cluster == "slurm":
            if not self.pending:
                return
            batch, self.pending = self.pending, []
            for spec in batch:
                self.prepare(spec)
            jobs = self.submit_array(batch)
            for spec, job in zip(batch, jobs):
                self.active[spec["index"]] = (spec, job, None)
            return
        while self.pending and len(self.active) < self.capacity:
            spec = self.pending.pop(0)
            slot = min(set(range(self.capacity)) - {s for _, _, s in self.active.values()})
            gpus = self.gpu_groups[slot % len(self.gpu_groups)]
            self.executor.update_parameters(gpus_per_node=len(gpus), visible_gpus=gpus)
            self.prepare(spec)
            self.active[spec["index"]] = (spec, self.executor.submit(RunOne(), spec), slot)

    def submit_array(self, batch):
        import contextlib
        import io

        from seq_cli import UsageError

        refusal = io.StringIO()
        try:
            with contextlib.redirect_stderr(refusal):  # submitit prints sbatch's complaint before raising it
                return self.executor.map_array(RunOne(), batch)
        except submitit.core.utils.FailedJobError as err:
            lines = str(err).strip().splitlines() or ["no reason given"]
            raise UsageError(f"sbatch refused the job array: {lines[-1]}") from None

    def prepare(self, spec):
        os.makedirs(spec["run_dir"], exist_ok=True)
        for run_dir in [spec["run_dir"]] + [m["run_dir"] for m in spec.get("members", [])]:
            for name in (STARTED, ERROR):  # left by an earlier attempt: they would be read as this one's
                if os.path.exists(os.path.join(run_dir, name)):
                    os.remove(os.path.join(run_dir, name))
        spec["submitted"] = time.time()
        for member in spec.get("members", []):
            member["submitted"] = spec["submitted"]
        log = os.path.join(spec["run_dir"], TRAIN_LOG)
        self.log_offsets[spec["index"]] = os.path.getsize(log) if os.path.exists(log) else 0
        write_json(os.path.join(spec["run_dir"], PARAMS),
                   {k: spec[k] for k in ("index", "config", "train", "fpa", "mdl", "threads")})

    def finished(self, job):
        if self.args.cluster == "local":
            return job.done()
        if job.paths.result_pickle.exists():
            return True
        # A job that ended without a result (cancelled, killed) leaves the queue. squeue tells, where submitit
        # would ask sacct, which clusters without accounting lack.
        if job.job_id in self.queued:
            self.gone.pop(job.job_id, None)
            return False
        return time.time() - self.gone.setdefault(job.job_id, time.time()) > 10

    def poll(self):
        if self.args.cluster == "slurm" and time.time() - self.last_squeue >= 10:
            self.queued, self.last_squeue = self.squeue(), time.time()
        for index, (spec, job, _slot) in list(self.active.items()):
            if not self.finished(job):
                continue
            self.announce(spec)  # a run that ended before it was seen running
            del self.active[index]
            pack_error = read_json(os.path.join(spec["run_dir"], ERROR)) if "members" in spec else None
            for run_spec in spec.get("members", [spec]):
                result = read_json(os.path.join(run_spec["run_dir"], RESULT))
                if is_complete(result, run_spec):
                    self.done.append((run_spec, result))
                    continue
                error = read_json(os.path.join(run_spec["run_dir"], ERROR)) or pack_error or {
                    "message": "the job ended without a result", "log": None}
                message = error["message"] + (f" (in the pack of seeds {spec['config']['seed']})"
                                              if error is pack_error else "")
                # a job stopped before it began (its controller paused or killed) may have written no log at all
                log = next((path for path in (error["log"], str(job.paths.stderr), str(job.paths.stdout))
                            if path and os.path.exists(path)), None)
                if log is None:
                    message += f"; it wrote no log (its submitit folder: {shown(str(job.paths.folder))})"
                self.failed.append((run_spec, message, log))

    def squeue(self):
        result = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-u", str(os.getuid())], capture_output=True,
                                text=True)
        if result.returncode != 0:  # cannot tell: count every job as still queued
            return {job.job_id for _, job, _ in self.active.values()}
        return set(result.stdout.split())

    def announce(self, spec):
        """Say once, as a run starts, where its log is: on a line of its own, above a terminal's progress line."""
        if spec["index"] in self.announced:
            return
        self.announced.add(spec["index"])
        log = shown(os.path.join(spec["run_dir"], TRAIN_LOG))
        line = f"run {spec['index']} ({describe(spec, self.axes)}): log {log}"
        sys.stderr.write("\r" + line + "\033[K\n" if sys.stderr.isatty() else line + "\n")

    def run_progress(self, spec):
        """What eta_seconds needs of a running run: its updates at the first and the last progress lines this sweep
        saw of this attempt, when fairseq wrote them (the log's modification times) and how long after its job
        started. None when its log cannot tell: no progress line, or no --max-update, or --mdl (the length of its K
        trainings is known only once they run)."""
        target = max_update(spec["train"])
        if not target or seed_packs.measures_mdl(spec):
            return None
        index, offset = spec["index"], self.log_offsets.get(spec["index"], 0)
        log = os.path.join(spec["run_dir"], TRAIN_LOG)
        updates = last_num_updates(log, offset)
        if updates is None:
            return None
        written = os.path.getmtime(log)
        first_time, first = self.first_seen.setdefault(index, (written, updates))
        started = read_json(os.path.join(spec["run_dir"], STARTED))
        age = written - started["time"] if started and not offset else None  # unknown for a resumed run
        return first, updates, target, written - first_time, age

    def seconds_left(self, started):
        """The sweep's ETA: from the running runs' logs (read every 5 s at most) once a run has logged progress
        twice, else from the runs that ended; None before either."""
        left = len(self.pending) + len(self.active)
        if time.time() - self.last_estimate >= 5:
            self.last_estimate = time.time()
            runs = [p for p in map(self.run_progress, started) if p]
            workers = self.capacity if self.args.cluster == "local" else max(1, len(started))
            estimate = eta_seconds(runs, left - len(runs), workers)
            self.finish_at = None if estimate is None else time.time() + estimate
        if not left:
            return 0.0
        if self.finish_at is not None:
            return max(0.0, self.finish_at - time.time())
        ended = len(self.done) + len(self.failed)
        return (time.time() - self.began) / ended * left if ended else None

    def progress(self, final=False):
        started = [spec for spec, _, _ in self.active.values()
                   if os.path.exists(os.path.join(spec["run_dir"], STARTED))]
        for spec in started:
            self.announce(spec)
        running = sum(map(seed_packs.size, started))
        waiting = sum(map(seed_packs.size, self.pending)) + sum(seed_packs.size(s) for s, _, _ in self.active.values())
        counts = (len(self.done), running, len(self.failed), waiting - running)
        eta = self.seconds_left(started)
        eta = "?" if eta is None else fmt_duration(eta)
        line = "sweep {}: {} done, {} running, {} failed, {} pending, ETA {}".format(self.args.name, *counts, eta)
        if sys.stderr.isatty():  # one line, rewritten in place
            sys.stderr.write("\r" + line + "\033[K" + ("\n" if final else ""))
        elif counts != self.last_counts or time.time() - self.last_print > 60:  # logs: a line per change
            sys.stderr.write(line + "\n")
            self.last_counts, self.last_print = counts, time.time()
        sys.stderr.flush()

    def run(self):
        if not self.pending:
            return
        interval = 2.0 if self.args.cluster == "slurm" else 0.5
        try:
            while self.pending or self.active:
                self.submit()
                self.progress()
                time.sleep(interval)
                self.poll()
        except KeyboardInterrupt:
            jobs = [job for _spec, job, _slot in self.active.values()]
            for job in jobs:
                job.cancel(check=False)
            deadline = time.time() + 10
            while self.args.cluster == "local" and not all(job.done() for job in jobs) and time.time() < deadline:
                time.sleep(0.2)  # so that this line comes after whatever the stopped jobs print
            print(f"\n{PROG}: interrupted; {len(self.active)} running runs were stopped. Re-run the same command "
                  "to resume.", file=sys.stderr)
            sys.exit(130)
        self.progress(final=True)


def shown(path):
    """A path as the user can open it: relative to the current directory when under it, else absolute."""
    relative = os.path.relpath(path)
    return os.path.abspath(path) if relative.startswith(os.pardir) else relative


def describe(spec, axes):
    return ", ".join(f"{k}={spec['config'][k]}" for k in axes) or "the only run"


def summarize(args, scheduler, skipped, axes, sweep_dir):
    done, failed = scheduler.done, scheduler.failed
    elapsed = time.time() - scheduler.began
    print(f"sweep {args.name}: {len(done)} done, {len(failed)} failed, {skipped} skipped (finished before); "
          f"results in {sweep_dir}")
    if done:
        overheads = sorted(r["timing"]["first_step"] - r["timing"]["submitted"] for _, r in done
                           if r["timing"]["first_step"] and not r.get("ensemble"))  # a packed run starts with FPA
        line = f"  {len(done)} run(s) in {fmt_duration(elapsed)} ({len(done) / elapsed * 3600:.0f} runs/hour)"
        if overheads:
            line += f"; submission to first fairseq start: median {overheads[len(overheads) // 2]:.2f}s"
        print(line)
    if failed:
        print("failed runs:")
        for spec, message, log in sorted(failed, key=lambda f: f[0]["index"]):
            where = f"; log: {shown(log)}" if log else ""
            print(f"  run {spec['index']} ({describe(spec, axes)}): {message}{where}")
        print("re-run the same command to retry them")
    return 1 if failed else 0


def build_parser():
    import argparse

    from seq_cli import OneLineArgumentParser, add_threads_option

    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", required=True, help="JSON grid (FIND's format: flag -> value or list of values)")
    parser.add_argument("--task", required=True, help="data set directory (preprocess.find's <out>/<task>/<size>)")
    parser.add_argument("--name", default=None, help="results/<name>/ (default: <grid>-<task>-<size>)")
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--cluster", choices=["local", "slurm"], default="local")
    parser.add_argument("--n-workers", type=int, default=None,
                        help="local: runs at once (default: one per GPU group, else one per CPU core)")
    add_threads_option(parser, "local cores / workers; SLURM: 1", "--cpus-per-job")  # its former name
    parser.add_argument("--gpus-per-job", type=int, default=None,
                        help="GPUs per run (default: 1 locally when there are GPUs, else 0)")
    parser.add_argument("--timeout-min", type=int, default=1440,
                        help="time limit of a job in minutes; on reaching it a run is requeued and resumes")
    parser.add_argument("--slurm-partition", default=None)
    parser.add_argument("--slurm-array-parallelism", type=int, default=256, help="array jobs running at once")
    parser.add_argument("--seeds", metavar="RANGES", default=None,
                        help="the seeds to run, e.g. 1-16 (default: the grid's seed list)")
    parser.add_argument("--seeds-per-process", type=int, default=None, metavar="K",
                        help="train up to K runs that differ only in their seed in one process (--arch seed_ensemble; "
                             "default: the fastest K recorded for the grid's arch on this device in "
                             "hyperparams/seeds_per_process.json, else 1)")
    parser.add_argument("--extra", default="", help="more fairseq-train flags for every run, e.g. \"--cpu\"")
    parser.add_argument("--fpa", action="store_true", help="dump greedy predictions over the probes, score each rule")
    parser.add_argument("--mdl", action="store_true", help="prequential description length of every candidate")
    parser.add_argument("--resume", action="store_true", help="continue an existing sweep (an error if none)")
    parser.add_argument("--dry-run", action="store_true", help="print the runs and their commands; submit nothing")
    parser.add_argument("--wait", action="store_true",
                        help="if another sweep is using the results directory, wait for it instead of refusing")
    return parser


def bind_extra(argv):
    """`--extra --cpu` would make argparse read --cpu as an option of the sweep: join the value to --extra."""
    out = []
    for arg in argv:
        if out and out[-1] == "--extra":
            out[-1] = f"--extra={arg}"
        else:
            out.append(arg)
    return out


def main(argv=None):
    from seq_cli import UsageError, choose_threads, cpu_cores, parse_int_ranges, plural, threads_phrase
    from tools.grid import expand, load_grid

    args = build_parser().parse_args(bind_extra(sys.argv[1:] if argv is None else argv))
    for option in ("n_workers", "timeout_min", "slurm_array_parallelism", "seeds_per_process"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1")
    if args.gpus_per_job is not None and args.gpus_per_job < 0:
        raise UsageError("--gpus-per-job must not be negative")
    grid = load_grid(args.sweep)
    if args.seeds is not None:
        grid["seed"] = parse_int_ranges(args.seeds, "--seeds", minimum=0)
    for key in ("save-dir", "user-dir"):
        if key in grid:
            raise UsageError(f"grid {args.sweep}: key {key!r} is set by the sweep for every run; remove it")
    extra = shlex.split(args.extra)
    if {"save-dir", "user-dir"} & set(flags_in(args.extra)):
        raise UsageError("--extra: --save-dir and --user-dir are set by the sweep for every run")
    configs = expand(grid)
    layout = task_layout(args.task, args.fpa, args.mdl)
    args.name = args.name or default_name(args.sweep, args.task)
    sweep_dir = os.path.join(args.results_dir, args.name)
    manifest = {"grid": os.path.abspath(args.sweep), "grid_sha256": grid_hash(grid), "grid_content": grid,
                "task": layout["dir"], "extra": extra, "fpa": args.fpa, "mdl": args.mdl,
                "runs": [{"index": i, "config": c} for i, c in enumerate(configs)]}
    check_manifest(sweep_dir, manifest, args.resume)

    n_gpus = 0
    if args.cluster == "local":
        import torch  # loaded anyway by fairseq for the validation below

        n_gpus = torch.cuda.device_count()
    gpus_per_job = args.gpus_per_job if args.gpus_per_job is not None else (1 if n_gpus else 0)
    if args.cluster == "local" and gpus_per_job > n_gpus:
        raise UsageError(f"--gpus-per-job {gpus_per_job}: this machine has {n_gpus} GPU(s)")
    groups = gpu_groups(n_gpus, gpus_per_job)
    workers = args.n_workers or (len(groups) if gpus_per_job else cpu_cores())
    if args.cluster == "slurm" and args.threads is None:
        threads, why = 1, "the default on SLURM; --threads to change"
    else:
        threads, why = choose_threads(args.threads, workers)

    specs = make_specs(configs, layout, os.path.abspath(sweep_dir), extra, args.fpa, args.mdl)
    validate(args.sweep, specs, extra)
    seeds_per_process = args.seeds_per_process or seed_packs.recorded_seeds_per_process(
        specs[0]["config"].get("arch"), "cuda" if gpus_per_job else "cpu")
    where = (plural(workers, "worker") if args.cluster == "local" else
             f"a SLURM job array ({args.slurm_array_parallelism} at once at most)")
    print(f"sweep {args.name}: {plural(len(specs), 'run')}, {where}, {threads_phrase(threads, why)}", file=sys.stderr)
    print(training_settings(specs[0]["train"][1:]), file=sys.stderr)
    axes = [k for k, v in grid.items() if isinstance(v, list) and len(v) > 1]
    if args.dry_run:
        print(f"{len(specs)} runs of {args.sweep} on {layout['dir']} (dry run: nothing submitted)")
        for spec in specs:
            print(f"run {spec['index']} ({describe(spec, axes)}):\n  {shlex.join(spec['train'])}")
            for command in (spec["fpa"] or {}).values():
                print(f"  {shlex.join(command)}")
            for command in (spec["mdl"] or {}).values():
                print(f"  {shlex.join(command)}")
        return 0

    if args.cluster == "slurm" and not shutil.which("sbatch"):
        raise UsageError("--cluster slurm: sbatch is not on PATH; run the sweep where SLURM's commands are")
    os.makedirs(sweep_dir, exist_ok=True)
    with SweepLock(sweep_dir, wait=args.wait):
        return run_sweep(args, manifest, specs, axes, sweep_dir, workers, groups, threads, gpus_per_job,
                         seeds_per_process)


def run_sweep(args, manifest, specs, axes, sweep_dir, workers, groups, threads, gpus_per_job, seeds_per_process):
    """Write the manifest, submit what is not done yet and wait for it; the exit code."""
    from seq_cli import plural

    write_json(os.path.join(sweep_dir, "manifest.json"), {**manifest, "axes": axes, "cluster": args.cluster})
    todo = [s for s in specs if not is_complete(read_json(os.path.join(s["run_dir"], RESULT)), s)]
    for spec in todo:
        spec.update(threads=threads, owner_pid=os.getpid() if args.cluster == "local" else None, submitted=None)
    jobs = seed_packs.make_jobs(todo, seeds_per_process, workers, os.path.abspath(sweep_dir),
                                lambda spec: "train" in (read_json(os.path.join(spec["run_dir"], STEPS)) or {}))
    for job in jobs:
        job.update(threads=threads, owner_pid=todo[0]["owner_pid"], submitted=None)
    if len(jobs) < len(todo):
        print(f"sweep {args.name}: {plural(len(todo), 'run')} to do in {len(jobs)} processes "
              f"(up to {seeds_per_process} seeds per process: --seeds-per-process)", file=sys.stderr)

    # jobs unpickle tools.sweep: local ones inherit this environment, SLURM exports it to the batch job
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    folder = os.path.join(sweep_dir, "submitit", "%j")
    if args.cluster == "local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=args.timeout_min)  # its default would kill runs after 2 minutes
    else:
        executor = submitit.SlurmExecutor(folder=folder)
        parameters = {"time": args.timeout_min, "cpus_per_task": threads, "job_name": f"sweep-{args.name}",
                      "array_parallelism": args.slurm_array_parallelism}
        if gpus_per_job:
            parameters["gpus_per_node"] = gpus_per_job
        if args.slurm_partition:
            parameters["partition"] = args.slurm_partition
        executor.update_parameters(**parameters)
    scheduler = Scheduler(args, executor, jobs, workers, groups, axes)
    scheduler.run()
    return summarize(args, scheduler, len(specs) - len(todo), axes, sweep_dir)


def cli():
    """The seq-sweep command (setup.py), also run by `python tools/sweep.py`."""
    from seq_cli import command_name, console

    global PROG  # set here, not at import: jobs import this module and must not load seq_plugins
    PROG = command_name(PROG)
    console(main, PROG)


if __name__ == "__main__":
    from tools import sweep  # jobs must unpickle RunOne from tools.sweep, which they can import, not __main__

    sweep.cli()
