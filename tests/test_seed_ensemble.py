"""--arch seed_ensemble: seed s of an ensemble is a single `fairseq-train --seed s` run, for each of FIND's learners.

The exactness contract, checked end to end with stock fairseq-train on FIND's add-or-mul T and the learners' own
grids (dropout 0.5 and clip-norm 25 included): the per-seed losses an ensemble logs equal the single run's at every
update, and the checkpoint tools.split_ensemble writes for that seed holds the single run's weights.
"""
import json
import os
import subprocess
import sys

import pytest
import torch

from preprocess import find
from tools.grid import expand, load_grid, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAIRSEQ_TRAIN = os.path.join(os.path.dirname(sys.executable), "fairseq-train")
UPDATES = 8
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")


@pytest.fixture(scope="module")
def train_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("find")
    find.main(["--task", "add-or-mul", "--sizes", "20", "--out", str(out)])
    return str(out / "add-or-mul" / "20" / "fpa" / "data-bin")


def grid_flags(learner, **overrides):
    config = expand(load_grid(os.path.join(ROOT, "hyperparams", "default", f"{learner}.json")))[0]
    config.pop("seed")
    config.update({"max-update": UPDATES, "passes-per-epoch": UPDATES, "log-interval": 1, "log-format": "json",
                   "cpu": True, **overrides})
    return render(config)


def train(data, flags, save_dir):
    command = [FAIRSEQ_TRAIN, data, "--user-dir", os.path.join(ROOT, "seq_plugins"), *flags, "--save-dir", save_dir]
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line.split("| train_inner | ", 1)[1]) for line in (result.stdout + result.stderr).splitlines()
            if "| train_inner | " in line]


def as_ensemble(flags, seeds):
    """The grid's flags with the learner moved to --ensemble-arch."""
    arch = flags.index("--arch")
    return flags[:arch] + ["--arch", "seed_ensemble", "--ensemble-arch", flags[arch + 1],
                           "--ensemble-seeds", seeds] + flags[arch + 2:]


@pytest.mark.parametrize("learner", ["transformer_small", "cnn_small", "lstm_attention_small",
                                     "lstm_noattention_small"])
def test_each_seed_of_an_ensemble_is_its_single_run(train_bin, tmp_path, learner):
    from tools.split_ensemble import split

    flags = grid_flags(learner)
    ensemble_log = train(train_bin, as_ensemble(flags, "1,3") + ["--seed", "1"], str(tmp_path / "ensemble"))
    single_log = train(train_bin, flags + ["--seed", "3"], str(tmp_path / "single"))
    # fairseq logs 3 decimals; stacked matrix products may round differently in the last place
    assert [float(e["loss_s3"]) for e in ensemble_log] == pytest.approx([float(s["loss"]) for s in single_log],
                                                                        abs=2e-3)
    assert [float(e["gnorm_s3"]) for e in ensemble_log] == pytest.approx([float(s["gnorm"]) for s in single_log],
                                                                         rel=1e-3)
    assert len(ensemble_log) == UPDATES and ensemble_log[0]["loss_s1"] != ensemble_log[0]["loss_s3"]  # seeds differ

    paths = split(str(tmp_path / "ensemble" / "checkpoint_last.pt"), str(tmp_path / "seed{seed}.pt"))
    mine = torch.load(paths[3], weights_only=True)
    theirs = torch.load(str(tmp_path / "single" / "checkpoint_last.pt"), weights_only=True)
    assert mine["model"].keys() == theirs["model"].keys()
    for name, value in theirs["model"].items():
        torch.testing.assert_close(mine["model"][name], value, rtol=1e-4, atol=1e-6, msg=name)
    assert mine["cfg"]["model"].arch == theirs["cfg"]["model"].arch
    assert mine["cfg"]["optimization"]["clip_norm"] == theirs["cfg"]["optimization"]["clip_norm"] == 25
