"""The 25-sequence look-up: teacher and data as specified, exact gradients, the optimizer's update by hand,
timing that never changes a target, a full fixed-timing run, and the same weights from stock fairseq-train."""
import json
import os

import numpy as np
import pytest
import torch

from tests.conftest import run_cli

HELDOUT_SEED0 = ["CDBBD", "DCDBD", "DECDE", "DBCEE", "BEBBD"]
N_TRAIN = 20


def test_teacher_and_data_follow_the_specification():
    from seq_plugins.tasks.sequence_lookup import draw_sequences, spell, teacher_targets

    train, heldout, _, _ = draw_sequences(0)
    assert [spell(s) for s in heldout] == HELDOUT_SEED0
    assert len(train) == 20 and len({spell(s) for s in np.concatenate([train, heldout])}) == 25
    # the teacher, written out once more from the specification, one bit at a time
    rng = np.random.default_rng(1234)
    w = rng.standard_normal((3, 5))
    pos_weight = np.linspace(1.0, 0.2, 5) + 0.15 * rng.standard_normal(5)
    b = 0.2 * rng.standard_normal(3)
    sequences = np.concatenate([train, heldout])
    expected = [[1.0 if sum(pos_weight[t] * w[i, s[t]] for t in range(5)) + b[i] >= 0 else -1.0 for i in range(3)]
                for s in sequences]
    assert teacher_targets(sequences).tolist() == expected
    assert 0 < np.mean(np.array(expected) > 0) < 1  # both signs occur
    assert [spell(s) for s in draw_sequences(1)[1]] != HELDOUT_SEED0


def tiny_network(seed=3):
    from seq_plugins.models.lookup_rnn import LookupRNN

    return LookupRNN(hidden_units=4, init_scale=0.8, seed=seed)


def test_criterion_gradient_matches_finite_differences():
    from seq_plugins.criterions.lookup_squared_error import LookupSquaredErrorCriterion
    from seq_plugins.tasks.sequence_lookup import LookupDataset, teacher_targets

    letters = np.array([[0, 1, 2, 3, 4], [4, 4, 0, 2, 1], [3, 0, 0, 1, 2]])
    holds = np.array([[1, 1, 1, 1, 1], [2, 1, 3, 1, 1], [1, 2, 1, 2, 2]])  # lengths 5, 8 and 8
    sample = LookupDataset("train", letters, teacher_targets(letters), holds).collater([0, 1, 2])
    model, criterion = tiny_network(), LookupSquaredErrorCriterion(task=None)
    loss, sample_size, log = criterion(model, sample)
    assert sample_size == 3 and log["nsentences"] == 3
    loss.backward()
    eps = 1e-6
    for name, p in model.named_parameters():
        numeric = torch.zeros_like(p)
        with torch.no_grad():
            for i in range(p.numel()):
                flat = p.view(-1)
                flat[i] += eps
                up = criterion(model, sample)[0].item()
                flat[i] -= 2 * eps
                down = criterion(model, sample)[0].item()
                flat[i] += eps
                numeric.view(-1)[i] = (up - down) / (2 * eps)
        assert torch.allclose(p.grad, numeric, rtol=1e-6, atol=1e-8), name
        assert p.grad.abs().max() > 1e-4, name  # every parameter takes part


def test_optimizer_update_matches_a_hand_computation():
    from seq_plugins.optim.shrink_sgd import ShrinkMomentumSGD

    weight = torch.nn.Parameter(torch.tensor([[1.0, -2.0]], dtype=torch.float64))
    bias = torch.nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    optimizer = ShrinkMomentumSGD([weight, bias], lr=0.1, momentum=0.9, weight_decay=0.5)
    grads = [([[0.2, 0.4]], [1.0]), ([[-1.0, 0.0]], [2.0])]
    w, b, vw, vb = [1.0, -2.0], 0.5, [0.0, 0.0], 0.0
    for gw, gb in grads:
        weight.grad, bias.grad = torch.tensor(gw, dtype=torch.float64), torch.tensor(gb, dtype=torch.float64)
        optimizer.step()
        vw = [0.9 * v - 0.1 * g for v, g in zip(vw, gw[0])]
        w = [(x + v) * (1 - 0.1 * 0.5) for x, v in zip(w, vw)]  # the weight matrix shrinks, after the step
        vb = 0.9 * vb - 0.1 * gb[0]
        b = b + vb  # the bias does not
        assert weight.tolist()[0] == pytest.approx(w, abs=1e-15)
        assert bias.tolist() == pytest.approx([b], abs=1e-15)
    # after two steps, by hand: w = (((1 - 0.02) * 0.95 + 0.082) * 0.95, ((-2 - 0.04) * 0.95 - 0.036) * 0.95)
    assert weight.tolist()[0] == pytest.approx([0.96235, -1.8753], abs=1e-12)
    assert bias.item() == pytest.approx(0.5 - 0.1 - 0.29, abs=1e-12)


def test_gradient_clipping_scales_the_global_norm():
    from omegaconf import OmegaConf

    from seq_plugins.optim.shrink_sgd import FairseqShrinkSGD

    params = [torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.float64)), torch.nn.Parameter(torch.zeros(3))]
    params[0].grad = torch.full((2, 2), 3.0, dtype=torch.float64)  # norm 6
    params[1].grad = torch.tensor([8.0, 0.0, 0.0])  # global norm 10
    optimizer = FairseqShrinkSGD(OmegaConf.create({"lr": [0.1], "momentum": 0.9, "weight_decay": 0.0}), params)
    assert float(optimizer.clip_grad_norm(5.0)) == pytest.approx(10.0)
    assert params[0].grad.tolist() == [[1.5, 1.5], [1.5, 1.5]] and params[1].grad.tolist() == [4.0, 0.0, 0.0]
    assert float(optimizer.clip_grad_norm(5.0)) == pytest.approx(5.0)  # at the limit: left alone
    assert params[1].grad.tolist() == [4.0, 0.0, 0.0]


def lookup_task(max_timing, seed=7):
    from omegaconf import OmegaConf

    from seq_plugins.tasks.sequence_lookup import SequenceLookupConfig, SequenceLookupTask

    cfg = OmegaConf.structured(SequenceLookupConfig(max_timing=max_timing))
    cfg.seed = seed
    return SequenceLookupTask(cfg)


def test_variable_timing_never_changes_a_target():
    from seq_cli import UsageError
    from seq_plugins.tasks.sequence_lookup import teacher_targets

    task = lookup_task(max_timing=3)
    task.load_dataset("train")
    dataset = task.dataset("train")
    batch = dataset.collater(list(range(len(dataset))))
    seen = set()
    for update in range(50):
        sample = task.sweep_sample(batch, update)
        holds = sample["holds"].numpy()
        assert holds.min() >= 1 and holds.max() <= 3
        seen.add(holds.tobytes())
        tokens, lengths = sample["net_input"]["src_tokens"].numpy(), sample["net_input"]["src_lengths"].numpy()
        assert (lengths == holds.sum(axis=1)).all()
        for row in range(len(tokens)):  # the stretched input, read back letter by letter, is the same sequence
            steps = tokens[row, :lengths[row]]
            starts = np.cumsum(holds[row]) - holds[row]
            assert (steps[starts] == dataset.letters[row]).all()
            assert (np.repeat(steps[starts], holds[row]) == steps).all()
        assert (sample["target"].numpy() == teacher_targets(sample["letters"].numpy())).all()
        assert (sample["target"].numpy() == batch["target"].numpy()).all()
    assert len(seen) == 50  # fresh holds every sweep
    assert task.sweep_sample(batch, 3)["holds"].tolist() == task.sweep_sample(batch, 3)["holds"].tolist()
    heldout = [lookup_task(max_timing=3, seed=seed).build_split("valid").holds.tolist() for seed in (1, 2)]
    assert heldout[0] == heldout[1]  # drawn once, from the data set's seed
    assert lookup_task(max_timing=1).build_split("valid").holds.tolist() == [[1] * 5] * 5
    with pytest.raises(UsageError, match="full batch"):
        task.get_batch_iterator(dataset, max_sentences=5)


# Printed by the reference (yaroslavvb/hinton-problems at a83a59e, sequence-lookup-25/sequence_lookup_25.py) for
# data seed 0: generate_dataset(0, variable_timing=True, max_timing=m)["timings"] at test_idx (all five) and at
# train_idx (first three), and the first three rows of the sweeps 0, 1 and 1999 that train(seed=s) draws with
# resample_timings from default_rng(s + 99991).
REFERENCE_HOLDS = {
    (2, 0): {"heldout": [[2, 1, 1, 1, 1], [1, 2, 1, 1, 1], [1, 1, 2, 1, 2], [1, 2, 2, 1, 2], [1, 2, 2, 1, 2]],
             "train": [[1, 1, 1, 1, 1], [2, 2, 2, 1, 2], [1, 1, 2, 2, 1]],
             0: [[2, 1, 2, 1, 1], [1, 1, 1, 2, 2], [1, 2, 2, 2, 1]],
             1: [[2, 1, 2, 1, 1], [1, 1, 1, 1, 1], [1, 1, 2, 1, 2]],
             1999: [[1, 1, 2, 1, 1], [1, 1, 1, 1, 1], [2, 2, 2, 1, 1]]},
    (3, 4): {"heldout": [[3, 1, 1, 1, 1], [2, 3, 1, 2, 1], [2, 2, 2, 1, 3], [1, 3, 3, 1, 3], [2, 3, 3, 1, 2]],
             "train": [[2, 1, 2, 2, 2], [2, 3, 3, 1, 2], [1, 2, 3, 3, 2]],
             0: [[2, 1, 1, 2, 2], [2, 2, 3, 2, 3], [1, 3, 3, 2, 3]],
             1: [[2, 3, 2, 2, 2], [3, 2, 1, 3, 2], [2, 1, 1, 2, 1]],
             1999: [[1, 3, 2, 2, 1], [1, 1, 3, 3, 2], [1, 3, 1, 2, 2]]},
}


@pytest.mark.parametrize("max_timing, seed", sorted(REFERENCE_HOLDS))
def test_variable_timing_draws_the_holds_of_the_reference(max_timing, seed):
    expected = REFERENCE_HOLDS[max_timing, seed]
    task = lookup_task(max_timing=max_timing, seed=seed)
    assert task.build_split("valid").holds.tolist() == expected["heldout"]
    assert task.build_split("train").holds[:3].tolist() == expected["train"]
    task.load_dataset("train")
    batch = task.dataset("train").collater(list(range(N_TRAIN)))
    for update in (0, 1, 1999, 0, 1, 1, 1999):  # in order, then replayed from the start, then asked twice
        assert task.sweep_sample(batch, update)["holds"][:3].tolist() == expected[update], update


def test_bad_options_are_refused_before_anything_runs(tmp_path):
    from seq_cli import UsageError
    from tools import lookup25

    for argv, message in ((["--max-timing", "3"], "--variable-timing only"),
                          (["--variable-timing", "--max-timing", "1"], "at least 2"),
                          (["--multi-seed", "0"], "at least 1"),
                          (["--threads", "0"], "^--threads must be at least 1, got 0$")):
        with pytest.raises(UsageError, match=message):
            lookup25.main([*argv, "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("kept")
    for out in (tmp_path / "file", tmp_path / "file" / "x"):
        with pytest.raises(UsageError, match=f"^--out {out}: {tmp_path / 'file'} is not a directory$"):
            lookup25.main(["--sweeps", "1", "--out", str(out)])
    assert (tmp_path / "file").read_text() == "kept"


def test_threads_said_first_and_used(tmp_path, capsys):
    from tools import lookup25

    lookup25.main(["--sweeps", "1", "--out", str(tmp_path / "default")])
    assert capsys.readouterr().out.splitlines()[0] == (
        "python -m tools.lookup25: 1 thread per run (the fastest for one small training here, docs/benchmarks.md; "
        "--threads to change)")
    before = torch.get_num_threads()
    try:
        lookup25.main(["--sweeps", "1", "--threads", "2", "--out", str(tmp_path / "two")])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert capsys.readouterr().out.splitlines()[0] == "python -m tools.lookup25: 2 threads per run (--threads)"
    assert json.load(open(tmp_path / "two" / "result.json"))["threads"] == 2


@pytest.fixture(scope="module")
def fixed_run(tmp_path_factory):
    """The reference configuration, through the command's own main() (the stock command runs further below)."""
    from tools import lookup25

    out = tmp_path_factory.mktemp("lookup25") / "fixed"
    lookup25.main(["--seed", "0", "--out", str(out)])
    return out


def test_fixed_timing_run_learns_the_training_set_and_matches_the_reference(fixed_run, capsys):
    result = json.load(open(fixed_run / "result.json"))
    run = result["runs"][0]
    assert result["config"]["hidden_units"] == 30 and result["config"]["sweeps"] == 800
    assert {k: run["train"][k] for k in ("correct", "total", "bit_correct")} == {
        "correct": 20, "total": 20, "bit_correct": [20, 20, 20]}
    assert run["train"]["loss"] < 1e-3 < run["heldout"]["loss"]
    # the reference reproduction: 4 of 5 held out, bit 2 wrong on one, converged near sweep 22
    assert run["heldout"]["correct"] == 4 and run["heldout"]["bit_correct"] == [5, 5, 4]
    assert 15 <= run["converged_sweep"] <= 30
    checkpoint = torch.load(run["checkpoint"], weights_only=True)
    history = checkpoint["task_state"]["history"]
    assert len(history["loss"]) == 800 and history["loss"][-1] < history["loss"][0] / 100
    assert history["train_correct"][run["converged_sweep"] - 1] == 20
    assert 20 not in history["train_correct"][:run["converged_sweep"] - 1]
    stable = run["all_correct_from_sweep"]
    assert run["converged_sweep"] <= stable <= 800 and set(history["train_correct"][stable - 1:]) == {20}
    assert history["train_correct"][stable - 2] < 20 or stable == run["converged_sweep"]


def test_pictures(fixed_run):
    from seq_cli import UsageError
    from tools import lookup25_pictures

    written = lookup25_pictures.draw(str(fixed_run), out=str(fixed_run / "pictures"))
    names = ["training", "bits", "weights", "hidden_states", "pass_fail"]
    assert written == [str(fixed_run / "pictures" / f"{name}.png") for name in names]
    for path in written:
        assert os.path.getsize(path) > 10_000
    with pytest.raises(UsageError, match=r"has seeds \[0\], not 9"):
        lookup25_pictures.draw(str(fixed_run), seed=9)
    assert torch.is_grad_enabled()  # drawing leaves the process's autograd mode alone


def test_stock_fairseq_train_reaches_the_same_weights_with_variable_timing(tmp_path):
    from tools import lookup25

    out = tmp_path / "variable"
    lookup25.main(["--seed", "2", "--variable-timing", "--max-timing", "3", "--sweeps", "40", "--out", str(out)])
    run = json.load(open(out / "result.json"))["runs"][0]
    command = run["fairseq_train_command"]
    command[command.index("--save-dir") + 1] = str(tmp_path / "stock")
    command[command.index("--sweeps-per-epoch") + 1] = "15"  # epochs of 15, 15 and 10 sweeps
    stock = run_cli(command)
    assert stock.returncode == 0, stock.stderr[-3000:]
    ours = torch.load(run["checkpoint"], weights_only=True)
    theirs = torch.load(tmp_path / "stock" / "checkpoint_last.pt", weights_only=True)
    assert ours["model"].keys() == theirs["model"].keys()
    for name in ours["model"]:
        assert torch.equal(ours["model"][name], theirs["model"][name]), name
    assert ours["task_state"]["history"] == theirs["task_state"]["history"]
