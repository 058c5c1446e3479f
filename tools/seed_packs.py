"""Seeds packed into one process: the sweep's runs that differ only in their seed, trained as one
``--arch seed_ensemble`` (seq_plugins/models/seed_ensemble.py) and split back into one checkpoint per run.

A pack is a job of the sweep like a run: ``<sweep>/packs/<indices>/`` holds its train.log, checkpoints, steps.json,
``mdl/<rule>/`` and, on failure, error.json. Once trained and split (and, with --mdl, each candidate's description
length measured for all seeds in one prequential ensemble), each member run gets its own
``checkpoints/checkpoint_last.pt``, ``mdl/<rule>/mdl.json``, ``train.log`` (a link to the pack's) and those steps in
its steps.json, then goes on alone (FPA, result.json) exactly as an unpacked run. A run whose train step is
recorded is never trained again; the others are packed afresh on resume (the same members resume the same pack from
its checkpoint).
"""
import json
import math
import os
import sys

from tools.atomic_files import read_json, write_json

# what benchmarks/ensemble_speed.py --record measured fastest, per device and stacked architecture
RECORDED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hyperparams",
                        "seeds_per_process.json")
PACKS = "packs"


def recorded_seeds_per_process(arch, device):
    """The recorded fastest K for ``arch`` on ``device`` ('cpu' or 'cuda'); 1 when none was measured."""
    try:
        with open(RECORDED) as f:
            return int(json.load(f)[device]["seeds_per_process"].get(arch, 1))
    except (OSError, KeyError, ValueError):
        return 1


def ensemble_command(train, seeds, save_dir):
    """A run's fairseq-train command made into the ensemble of ``seeds`` saving to ``save_dir``."""
    command, i = [], 0
    while i < len(train):
        flag = train[i]
        value = train[i + 1] if i + 1 < len(train) else None
        if flag == "--arch":
            command += ["--arch", "seed_ensemble", "--ensemble-arch", value, "--ensemble-seeds",
                        ",".join(map(str, seeds))]
        elif flag == "--seed":
            command += ["--seed", str(seeds[0])]
        elif flag == "--save-dir":
            command += ["--save-dir", save_dir]
        else:
            command.append(flag)
            i += 1
            continue
        i += 2
    return command


def without_seed(config):
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True)


def make_jobs(specs, seeds_per_process, workers, sweep_dir, trained):
    """The sweep's jobs: runs alone, and packs of up to ``seeds_per_process`` runs that differ only in their seed,
    no bigger than needed to keep ``workers`` busy. ``trained(spec)`` tells a run whose training is recorded."""
    groups = {}
    jobs = []
    for spec in specs:
        if seeds_per_process > 1 and "seed" in spec["config"] and not trained(spec):
            groups.setdefault(without_seed(spec["config"]), []).append(spec)
        else:
            jobs.append(spec)
    for members in groups.values():
        size = min(seeds_per_process, math.ceil(len(members) / workers))
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            jobs.append(chunk[0] if len(chunk) == 1 else pack(chunk, sweep_dir))
    return sorted(jobs, key=lambda job: first_index(job))


def first_index(job):
    return job["members"][0]["index"] if "members" in job else job["index"]


def pack(members, sweep_dir):
    seeds = [m["config"]["seed"] for m in members]
    index = "+".join(str(m["index"]) for m in members)
    run_dir = os.path.join(sweep_dir, PACKS, index)
    return {"index": index, "run_dir": run_dir, "members": members, "seeds": seeds,
            "config": {**members[0]["config"], "seed": ",".join(map(str, seeds))},
            "train": ensemble_command(members[0]["train"], seeds, os.path.join(run_dir, "checkpoints")),
            "fpa": None, "mdl": None}


def size(job):
    return len(job.get("members", [job]))


def measures_mdl(job):
    """Whether the job (a run or a pack) measures description lengths after its training."""
    return bool(job["members"][0]["mdl"] if "members" in job else job["mdl"])


def drop_checkpoints(mdl_dir):
    """Remove the checkpoints a description-length measurement left: its JSONs hold what is needed."""
    for name in os.listdir(mdl_dir):
        if name.endswith(".pt"):
            os.remove(os.path.join(mdl_dir, name))


def run_pack(job, attempt, run_one, train_log, steps_file):
    """Train the pack (``attempt``: the sweep's Attempt of it) and split it, measure every candidate's description
    length for all its seeds at once (the prequential task runs ensembles too), give each member its checkpoint and
    its train and MDL steps, then run each member alone (FPA, result.json); returns the members' results."""
    attempt.begin()
    log = attempt.path(train_log)
    ensemble = {"seeds": job["seeds"], "dir": job["run_dir"], "command": job["train"]}
    train = attempt.step("train", [job["train"]], log)
    split = [sys.executable, "-m", "tools.split_ensemble", attempt.path("checkpoints", "checkpoint_last.pt"),
             "--out", attempt.path("split", "seed{seed}.pt"), "--overwrite"]
    attempt.step("split", [split], log)
    mdl = {}
    for rule, command in (job["members"][0]["mdl"] or {}).items():
        out = attempt.path("mdl", rule)
        os.makedirs(out, exist_ok=True)
        outputs = os.path.join(out, "mdl_seed{seed}.json")
        mdl[rule] = (attempt.step(f"mdl/{rule}", [ensemble_command(command, job["seeds"], out) +
                                                   ["--mdl-output", outputs]], os.path.join(out, train_log)), outputs)
        drop_checkpoints(out)
    for member in job["members"]:
        seed = member["config"]["seed"]
        checkpoints = os.path.join(member["run_dir"], "checkpoints")
        os.makedirs(checkpoints, exist_ok=True)
        split_checkpoint = attempt.path("split", f"seed{seed}.pt")
        if os.path.exists(split_checkpoint):
            os.replace(split_checkpoint, os.path.join(checkpoints, "checkpoint_last.pt"))
        member_log = os.path.join(member["run_dir"], train_log)
        if not os.path.lexists(member_log):
            os.symlink(os.path.relpath(log, member["run_dir"]), member_log)
        steps_path = os.path.join(member["run_dir"], steps_file)
        steps = read_json(steps_path) or {}
        steps["train"] = {"wall_s": train["wall_s"], "valid_loss": None, "ensemble": ensemble}
        for rule, (record, outputs) in mdl.items():
            with open(outputs.format(seed=seed)) as f:
                result = json.load(f)
            os.makedirs(os.path.join(member["run_dir"], "mdl", rule), exist_ok=True)
            write_json(os.path.join(member["run_dir"], "mdl", rule, "mdl.json"), result)
            steps[f"mdl/{rule}"] = {"wall_s": record["wall_s"], "description_length": result["description_length"],
                                    "ensemble": ensemble}
        write_json(steps_path, steps)
    return [run_one(member) for member in job["members"]]
