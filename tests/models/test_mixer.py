"""The Mamba mixer: published initialisation, and state carried between calls equals one pass."""

import math

import pytest
import torch
import torch.nn.functional as F

from seqmodels.models import MambaMixer


@pytest.fixture
def mixer() -> MambaMixer:
    torch.manual_seed(0)
    return MambaMixer(d_model=24, d_state=8, d_conv=4, expand=2).double()


def test_initialisation_follows_the_paper():
    torch.manual_seed(0)
    m = MambaMixer(d_model=40, d_state=16, dt_min=1e-3, dt_max=0.1)
    assert m.d_inner == 80 and m.dt_rank == math.ceil(40 / 16)
    # S4D-real: A_n = -(n + 1) for every channel
    assert torch.allclose(m.A, -torch.arange(1, 17).float().expand(80, 16))
    assert torch.equal(m.D.detach(), torch.ones(80))
    # softplus(bias) lies in [dt_min, dt_max] (the floor is below dt_min here)
    dt = F.softplus(m.dt_proj.bias.detach())
    assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001
    assert all(getattr(p, "_no_weight_decay", False) for p in (m.A_log, m.D, m.dt_proj.bias))
    assert not getattr(m.in_proj.weight, "_no_weight_decay", False)


def test_shapes(mixer):
    x = torch.randn(3, 17, 24, dtype=torch.float64)
    y, state = mixer(x)
    assert y.shape == x.shape and state is None


@pytest.mark.parametrize("split", [1, 3, 16], ids=lambda s: f"split{s}")
def test_two_pieces_with_state_equal_one_pass(mixer, split):
    x = torch.randn(2, 17, 24, dtype=torch.float64)
    full, _ = mixer(x)
    state = mixer.allocate_inference_cache(2, dtype=torch.float64)
    first, state = mixer(x[:, :split], state)
    second, state = mixer(x[:, split:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), full, rtol=1e-10, atol=1e-12)


def test_step_by_step_decode_equals_forward(mixer):
    x = torch.randn(2, 11, 24, dtype=torch.float64)
    full, _ = mixer(x)
    state = mixer.allocate_inference_cache(2, dtype=torch.float64)
    steps = torch.stack([mixer.step(x[:, t], state) for t in range(x.shape[1])], dim=1)
    torch.testing.assert_close(steps, full, rtol=1e-10, atol=1e-12)
    # and the state after decoding equals the state after a forward of the same tokens
    forward_state = mixer(x, mixer.allocate_inference_cache(2, dtype=torch.float64))[1]
    torch.testing.assert_close(state.ssm, forward_state.ssm, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(state.conv, forward_state.conv, rtol=1e-10, atol=1e-12)


def test_gradients_reach_every_parameter(mixer):
    x = torch.randn(2, 9, 24, dtype=torch.float64, requires_grad=True)
    mixer(x)[0].square().sum().backward()
    for name, p in mixer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0
