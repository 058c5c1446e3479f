"""--optimizer fast_adam is fairseq's adam (its options, state and update) in one fused pass per parameter."""
import pytest
import torch
from fairseq.optim.adam import Adam

from seq_plugins.optim.fast_adam import FusedFairseqAdam


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_same_updates_as_fairseqs_adam(weight_decay):
    torch.manual_seed(0)
    stock = [torch.randn(shape, dtype=torch.float64) for shape in ((30, 5), (5,), (2, 3, 4))]
    fused = [p.clone() for p in stock]
    # eps large enough that adding it before or after the bias correction changes the result
    options = dict(lr=1e-2, betas=(0.9, 0.98), eps=1e-3, weight_decay=weight_decay)
    optimizers = Adam(stock, **options), FusedFairseqAdam(fused, **options)
    for update in range(40):
        grads = [torch.randn_like(p) * (1e-3 if update % 2 else 1) for p in stock]
        for optimizer, params in zip(optimizers, (stock, fused)):
            optimizer.param_groups[0]["lr"] = 1e-2 * (update + 1) / 40  # as a warm-up schedule sets it
            for p, g in zip(params, grads):
                p.grad = None if p.dim() == 1 and update % 3 == 0 else g.clone()  # steps counted per parameter
            optimizer.step()
    for a, b in zip(stock, fused):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert optimizers[0].state[stock[1]]["step"] == optimizers[1].state[fused[1]]["step"] == 26
    assert optimizers[1].state_dict()["state"][0].keys() == optimizers[0].state_dict()["state"][0].keys()


@pytest.mark.parametrize("max_norm", [0.0, 0.5, 1e6])
def test_clips_as_fairseq_does(max_norm):
    from fairseq import utils
    from omegaconf import OmegaConf

    from seq_plugins.optim.fast_adam import FastAdam, FastAdamConfig

    torch.manual_seed(0)
    stock = [torch.nn.Parameter(torch.randn(shape)) for shape in ((30, 5), (5,), (2, 3, 4))]
    fused = [torch.nn.Parameter(p.detach().clone()) for p in stock]
    for a, b in zip(stock, fused):
        a.grad = torch.randn_like(a) * 3
        b.grad = a.grad.clone()
    fused[1].grad = stock[1].grad = None  # a parameter without a gradient this update
    optimizer = FastAdam(OmegaConf.structured(FastAdamConfig(lr=[1e-3], tpu=False)), fused)
    halved = []
    expected = utils.clip_grad_norm_(stock, max_norm)
    norm = optimizer.clip_grad_norm(max_norm, aggregate_norm_fn=lambda n: halved.append(n) or n)
    torch.testing.assert_close(norm, expected, rtol=1e-6, atol=0)
    assert len(halved) == 1
    for a, b in zip(stock, fused):
        if a.grad is not None:
            torch.testing.assert_close(b.grad, a.grad, rtol=1e-6, atol=1e-7)
    if max_norm == 0.5:  # clipped to the bound; 0 (no clipping) and 1e6 (above the norm) leave the gradients as they were
        clipped = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in fused if p.grad is not None]))
        assert clipped == pytest.approx(max_norm, rel=1e-4)


def test_scales_and_clears_gradients():
    from omegaconf import OmegaConf

    from seq_plugins.optim.fast_adam import FastAdam, FastAdamConfig

    params = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2, 2))]
    optimizer = FastAdam(OmegaConf.structured(FastAdamConfig(lr=[1e-3], tpu=False)), params)
    for p in params:
        p.grad = torch.full_like(p, 3.0)
    for c in (1, 1.0, 0.5, torch.tensor(2.0)):
        optimizer.multiply_grads(c)
    assert all(torch.equal(p.grad, torch.full_like(p, 3.0)) for p in params)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)
