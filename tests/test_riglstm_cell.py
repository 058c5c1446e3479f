"""The RigLSTM and RIM cell groups: the invariants of docs/riglstm.md."""
import pytest
import torch

from seq_plugins.modules.riglstm_cell import MECHANISMS, RigLSTMCell
from seq_plugins.modules.rim_cell import RIMCell

INPUT = 12
SIZES = dict(num_cells=6, cell_size=8, num_active=3, num_views=4, top_views=2, top_cells=2, view_size=INPUT,
             attention_size=5)


def rig(seed=0, disabled=(), **overrides):
    torch.manual_seed(seed)
    return RigLSTMCell(INPUT, **{**SIZES, **overrides}, disabled=disabled)


def random_state(seed, batch=5, cells=6, size=8):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, cells, size, generator=generator),
            torch.randn(batch, cells, size, generator=generator))


def one_step(cell, x, state):
    return cell.step([p[0] for p in cell.prepare(x.unsqueeze(0))], state)


def inputs(seed, time=9, batch=5):
    return torch.randn(time, batch, INPUT, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("make", [lambda: rig(), lambda: RIMCell(INPUT, num_cells=6, cell_size=8, num_active=4)],
                         ids=["riglstm", "rim"])
def test_inactive_cells_keep_their_state_bit_for_bit_and_exactly_ka_are_active(make):
    cell = make()
    x = inputs(1)
    state = random_state(2)
    for t in range(x.size(0)):
        (h, c), active = cell.step([p[t] for p in cell.prepare(x)], state)
        assert active.sum(1).tolist() == [cell.num_active] * x.size(1)
        for new, old in ((h, state[0]), (c, state[1])):
            assert torch.equal(new[~active], old[~active])
            assert (new[active] != old[active]).any(-1).all()  # every active cell moved
        state = (h, c)


def test_padding_steps_leave_every_cell_as_it_was():
    cell = rig()
    x = inputs(3, time=6)
    step_mask = torch.ones(6, 5, dtype=torch.bool)
    step_mask[4:, 2] = False  # sequence 2 has length 4
    outputs, (h, c), active = cell(x, step_mask=step_mask, return_active=True)
    assert torch.equal(outputs[3, 2], outputs[5, 2])
    _, (h4, c4) = cell(x[:4, 2:3])  # alone, in a batch of one: the same up to the rounding of another batch size
    torch.testing.assert_close(h[2:3], h4, rtol=0, atol=1e-6)
    torch.testing.assert_close(c[2:3], c4, rtol=0, atol=1e-6)
    assert active[4:, 2].sum() == 0 and active[:4, 2].sum(-1).eq(3).all()


def copy_weights(target, source):
    """Load every parameter of ``source`` that ``target`` has with the same shape."""
    own = target.state_dict()
    target.load_state_dict({k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape},
                           strict=False)


@pytest.mark.parametrize("flag,equivalent", [("cell_selection", dict(num_active=6)),
                                             ("input_selection", dict(top_views=4)),
                                             ("state_selection", dict(top_cells=5))])
def test_switching_a_selection_off_equals_selecting_everything(flag, equivalent):
    """Each selection flag changes only its own top-k: off is bit for bit the model that keeps all candidates,
    and differs from the default model."""
    x, state = inputs(4), random_state(5)
    ablated, everything, default = rig(disabled=(flag,)), rig(**equivalent), rig()
    out_ablated, out_everything, out_default = (cell(x, state) for cell in (ablated, everything, default))
    assert torch.equal(out_ablated[0], out_everything[0])
    assert not torch.allclose(out_ablated[0], out_default[0])


def test_cell_selection_off_changes_only_which_cells_update():
    x, state = inputs(6)[0], random_state(7)
    (h, c), active = one_step(rig(), x, state)
    (h_all, c_all), active_all = one_step(rig(disabled=("cell_selection",)), x, state)
    assert active_all.all() and not active.all()
    assert torch.equal(h_all[active], h[active]) and torch.equal(c_all[active], c[active])


def test_without_input_views_the_cell_reads_the_input_itself():
    """input_views off equals one view made by an identity map of the input."""
    x, state = inputs(8), random_state(9)
    ablated = rig(disabled=("input_views",))
    identity = rig(num_views=1, top_views=1)
    copy_weights(identity, ablated)
    with torch.no_grad():
        identity.views.weight.copy_(torch.eye(INPUT))
        identity.views.bias.zero_()
    assert ablated.views is None and ablated.num_views == 1
    torch.testing.assert_close(ablated(x, state)[0], identity(x, state)[0], rtol=0, atol=1e-6)


def test_soft_update_off_gives_the_candidate_and_on_blends_it_with_the_previous_state():
    x, state = inputs(10)[0], random_state(11)
    soft = rig()
    hard = rig(disabled=("soft_update",))
    copy_weights(hard, soft)
    (h, c), active = one_step(soft, x, state)
    (h_cand, c_cand), active_hard = one_step(hard, x, state)
    assert torch.equal(active, active_hard)
    # h = h_prev + w (h_cand - h_prev) with one w in (0, 1) per cell, the same for h and c
    w_h = (h - state[0]) / (h_cand - state[0])
    w_c = (c - state[1]) / (c_cand - state[1])
    w = w_h[active][:, :1]
    torch.testing.assert_close(w_h[active], w.expand_as(w_h[active]), rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(w_c[active], w.expand_as(w_c[active]), rtol=1e-3, atol=1e-4)
    assert ((w > 0) & (w < 1)).all()


@pytest.mark.parametrize("disabled", [()] + [(m,) for m in MECHANISMS] + [MECHANISMS], ids=str)
def test_gradients_reach_every_parameter(disabled):
    cell = rig(disabled=disabled)
    outputs, _ = cell(inputs(12, time=12, batch=8))
    outputs.pow(2).sum().backward()
    missing = [n for n, p in cell.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_rim_gradients_reach_every_parameter():
    torch.manual_seed(0)
    cell = RIMCell(INPUT, num_cells=6, cell_size=8, num_active=4)
    cell(inputs(13, time=12, batch=8))[0].pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cell.parameters())


def test_same_seed_same_numbers():
    x = inputs(14)
    first, second, other = rig(seed=3), rig(seed=3), rig(seed=4)
    assert torch.equal(first(x)[0], second(x)[0])
    assert not torch.equal(first(x)[0], other(x)[0])


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="top_cells must be between 1 and 5"):
        rig(top_cells=6)
    with pytest.raises(ValueError, match="unknown RigLSTM mechanisms"):
        rig(disabled=("attention",))
