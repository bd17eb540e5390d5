"""Causal conv one-step update: the Triton kernel against the reference, and stepping against the
whole-sequence conv.

Without a GPU the kernel runs on CPU tensors in Triton's interpreter, switched on by
tests/conftest.py; with one, the same tests run compiled.
"""

import pytest
import torch

from seqmodels.kernels.causal_conv import (
    causal_conv1d,
    causal_conv1d_ref,
    causal_conv1d_update,
    causal_conv1d_update_ref,
)
from seqmodels.kernels.causal_conv import triton as triton_conv

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"


@pytest.fixture(autouse=True)
def _nan_outputs(nan_outputs):
    nan_outputs(triton_conv)


def rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(DEVICE, dtype)


def rel_err(got, want) -> float:
    return ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()


@pytest.mark.parametrize("width", [1, 2, 4, 5], ids=lambda w: f"width-{w}")
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("shape", [(1, 7), (3, 300)], ids=["batch-1-dim-7", "batch-3-dim-300"])
def test_matches_reference(width, bias, shape):
    batch, dim = shape
    weight, b = rand(dim, width, seed=1), rand(dim, seed=2) if bias else None
    state = rand(batch, dim, width - 1, seed=3)
    state_ref = state.clone()
    for step in range(width + 1):  # past a full turn of the window
        x = rand(batch, dim, seed=10 + step)
        y = triton_conv.causal_conv1d_update_triton(x, state, weight, b)
        y_ref = causal_conv1d_update_ref(x, state_ref, weight, b)
        assert y.dtype == x.dtype and rel_err(y, y_ref) < 1e-6
        assert torch.equal(state, state_ref)


def test_updates_a_view_of_a_stacked_cache():
    cache = rand(3, 2, 6, 3, seed=4)
    before = cache.clone()
    weight, x = rand(6, 4, seed=5), rand(2, 6, seed=6)
    state_ref = cache[1].clone()
    y = triton_conv.causal_conv1d_update_triton(x, cache[1], weight)
    assert rel_err(y, causal_conv1d_update_ref(x, state_ref, weight)) < 1e-6
    assert torch.equal(cache[1], state_ref)
    assert torch.equal(cache[0], before[0]) and torch.equal(cache[2], before[2])


def test_stepping_matches_the_sequence_conv():
    batch, dim, width, length = 2, 5, 4, 11
    x, weight, bias = rand(batch, dim, length, seed=7), rand(dim, width, seed=8), rand(dim, seed=9)
    state = rand(batch, dim, width - 1, seed=10)
    y_ref, final_ref = causal_conv1d_ref(x, weight, bias, state.clone(), return_final_state=True)
    ys = [
        triton_conv.causal_conv1d_update_triton(x[..., t], state, weight, bias)
        for t in range(length)
    ]
    assert rel_err(torch.stack(ys, -1), y_ref) < 1e-6 and torch.equal(state, final_ref)


def test_sequence_conv_is_torch():
    assert causal_conv1d is causal_conv1d_ref


@pytest.mark.parametrize("backend", ["triton", "reference"])
def test_routing(monkeypatch, backend):
    monkeypatch.setenv("SEQMODELS_SCAN", backend)
    calls = []
    monkeypatch.setattr(triton_conv, "causal_conv1d_update_triton", lambda *a: calls.append(a))
    causal_conv1d_update(rand(1, 3), rand(1, 3, 2), rand(3, 3))
    assert bool(calls) == (backend == "triton")


@pytest.mark.parametrize(
    "args, message",
    [
        ((rand(2, 3), rand(2, 3, 2), rand(4, 3)), "weight"),
        ((rand(2, 3), rand(2, 3, 3), rand(3, 3)), "conv_state must have shape"),
        ((rand(2, 3), rand(2, 2, 3).transpose(1, 2), rand(3, 3)), "unit stride"),
    ],
    ids=["dim-mismatch", "state-width", "strided-state"],
)
def test_rejects_bad_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        triton_conv.causal_conv1d_update_triton(*args)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_gpu_against_reference(dtype):
    x, weight, bias = rand(4, 3072, dtype=dtype), rand(3072, 4, seed=1), rand(3072, seed=2)
    state = rand(4, 3072, 3, seed=3, dtype=dtype)
    state_ref = state.clone()
    y = triton_conv.causal_conv1d_update_triton(x, state, weight, bias)
    y_ref = causal_conv1d_update_ref(x, state_ref, weight, bias)
    assert rel_err(y, y_ref) < (1e-6 if dtype == torch.float32 else 1e-2)
    assert torch.equal(state, state_ref)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("width", [2, 3, 4, 5], ids=lambda w: f"width-{w}")
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_gpu_odd_shapes(dtype, width, bias):
    """Ragged channel blocks, several steps: y and the shifted state."""
    batch, dim = 3, 777
    weight, b = rand(dim, width, seed=1), rand(dim, seed=2) if bias else None
    state = rand(batch, dim, width - 1, seed=3, dtype=dtype)
    state_ref = state.clone()
    for step in range(width + 1):
        x = rand(batch, dim, seed=10 + step, dtype=dtype)
        y = triton_conv.causal_conv1d_update_triton(x, state, weight, b)
        y_ref = causal_conv1d_update_ref(x, state_ref, weight, b)
        assert y.dtype == dtype and rel_err(y, y_ref) < (1e-6 if dtype == torch.float32 else 1e-2)
        assert torch.equal(state, state_ref)
