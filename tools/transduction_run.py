"""Train one transduction learner with stock fairseq-train and evaluate it per input length.

    python -m tools.transduction_run --data data/reversal --grid hyperparams/transductions/paper.json \
        --set arch=lstm_seq2seq --set attention=additive --out runs/reversal/lstm_additive

The grid (FIND's JSON format) must name one value per flag once the --set overrides are applied. The run writes
``<out>/run.json`` (configuration and exact commands), ``train.log``, ``checkpoints/``, ``eval.jsonl`` and
``accuracy.png``. Re-running the same command resumes an interrupted training and skips a finished run; an
``<out>`` made with another configuration is refused.
"""
import importlib.util
import json
import os
import subprocess
import sys

from seq_cli import (OneLineArgumentParser, UsageError, add_threads_option, choose_threads, command_name, console,
                     threads_phrase)
from tools import evaluate
from tools.grid import expand, load_grid, render

PROG = command_name("python -m tools.transduction_run")
# found, not imported: importing seq_plugins loads fairseq, which only the training needs
USER_DIR = os.path.abspath(importlib.util.find_spec("seq_plugins").submodule_search_locations[0])
# what every run gets unless its grid says otherwise (a grid's "task" replaces the default, not follows it)
DEFAULT_FLAGS = {"task": "transduction", "no-epoch-checkpoints": True, "log-format": "simple", "no-progress-bar": True}


def parse_override(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--set {text!r}: expected flag=value")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def single_config(grid_path, overrides):
    grid = load_grid(grid_path)
    grid.update(overrides)
    configs = expand(grid)
    if len(configs) != 1:
        axes = [k for k, v in grid.items() if isinstance(v, list) and len(v) > 1]
        raise UsageError(f"grid {grid_path} names {len(configs)} runs; fix {', '.join(axes)} with --set flag=value")
    return configs[0]


def train_command(data_bin, save_dir, config):
    return ["fairseq-train", data_bin, "--user-dir", USER_DIR, "--save-dir", save_dir,
            *render({**DEFAULT_FLAGS, **config})]


def run(data, grid_path, overrides, out, threads=None):
    config = single_config(grid_path, overrides)
    data_bin = os.path.join(data, "data-bin")
    if not os.path.isdir(data_bin):
        raise UsageError(f"--data {data} has no data-bin/; make it with preprocess.transductions")
    checkpoints = os.path.join(out, "checkpoints")
    command = train_command(data_bin, checkpoints, config)
    record = {"data": data, "grid": grid_path, "config": config, "train_command": command}
    run_json = os.path.join(out, "run.json")
    if os.path.isfile(run_json):
        with open(run_json) as f:
            previous = json.load(f)
        if previous["config"] != config or previous["data"] != data:
            raise UsageError(f"--out {out} holds a run with another configuration or data set; choose another --out")
        if os.path.isfile(os.path.join(out, "eval.jsonl")):
            with open(os.path.join(out, "eval.jsonl")) as f:
                rows = [json.loads(line) for line in f]
            print(f"{out} is finished; nothing to do\n{evaluate.format_table(rows)}")
            return rows
    elif os.path.exists(out) and os.listdir(out):
        raise UsageError(f"--out {out} is not empty and holds no run.json; refusing to write into it")
    os.makedirs(out, exist_ok=True)
    with open(run_json, "w") as f:
        json.dump(record, f, indent=1)

    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    log_path = os.path.join(out, "train.log")
    print(f"training: {' '.join(command)}\n  log: {log_path}", flush=True)
    executable = [os.path.join(os.path.dirname(sys.executable), command[0]), *command[1:]]
    with open(log_path, "a") as log:
        status = subprocess.run(executable, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    if status != 0:
        raise UsageError(f"fairseq-train failed with status {status}; see {log_path}")
    best = os.path.join(checkpoints, "checkpoint_best.pt")
    eval_args = ["--data", data, "--checkpoint", best, "--out-dir", out,
                 "--label", f"{config.get('arch')} {config.get('attention', '')}".strip()]
    return evaluate.main(eval_args)


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--data", required=True, help="data set directory made by preprocess.transductions")
    parser.add_argument("--grid", required=True, help="JSON grid naming one run once --set is applied")
    parser.add_argument("--set", action="append", default=[], metavar="FLAG=VALUE",
                        help="override or fix one grid flag (repeatable)")
    parser.add_argument("--out", required=True, help="run directory")
    add_threads_option(parser, "1, the fastest for one small training here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    threads, why = choose_threads(args.threads)
    print(f"{PROG}: {threads_phrase(threads, why)}", flush=True)
    run(args.data, args.grid, dict(parse_override(s) for s in args.set), args.out, threads)


def cli():
    """The seq-transduction-run command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
