"""One-step state update: the Triton kernel against the reference, and decoding against the scan.

Without a GPU the kernel runs on CPU tensors in Triton's interpreter, switched on by
tests/conftest.py; with one, the same tests run compiled.
"""

import pytest
import torch

from seqmodels.kernels.scan import selective_scan_ref
from seqmodels.kernels.state_update import (
    selective_state_update,
    selective_state_update_ref,
)
from seqmodels.kernels.state_update import triton as triton_update

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"


@pytest.fixture(autouse=True)
def _nan_outputs(nan_outputs):
    nan_outputs(triton_update)


def make_step(batch, dim, d_state, *, D=True, z=True, bias=True, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0, shift=0.0):
        return (torch.randn(*shape, generator=g) * scale + shift).to(DEVICE)

    return {
        "x": rand(batch, dim).to(dtype),
        "dt": rand(batch, dim, scale=0.5, shift=-1.0).to(dtype),
        "A": -torch.rand(dim, d_state, generator=g).to(DEVICE) * 2 - 0.1,
        "B": rand(batch, d_state).to(dtype),
        "C": rand(batch, d_state).to(dtype),
        "D": rand(dim) if D else None,
        "z": rand(batch, dim).to(dtype) if z else None,
        "dt_bias": rand(dim, scale=0.1) if bias else None,
    }


def rel_err(got, want) -> float:
    return ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()


CASES = {
    "all-options": (2, 19, 16, {}),
    "batch-1-odd-d_state": (1, 5, 7, {}),
    "bare": (3, 8, 4, dict(D=False, z=False, bias=False)),
    "wide-d_state": (1, 3, 100, dict(z=False)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("softplus", [True, False], ids=["softplus", "raw-dt"])
def test_matches_reference(case, softplus):
    batch, dim, d_state, options = case
    state = torch.randn(batch, dim, d_state, generator=torch.Generator().manual_seed(2)).to(DEVICE)
    state_ref = state.clone()
    for step in range(3):  # the state carries over between calls
        inputs = make_step(batch, dim, d_state, seed=step, **options)
        y = triton_update.selective_state_update_triton(state, **inputs, dt_softplus=softplus)
        y_ref = selective_state_update_ref(state_ref, **inputs, dt_softplus=softplus)
        assert y.dtype == inputs["x"].dtype
        assert rel_err(y, y_ref) < 1e-5 and rel_err(state, state_ref) < 1e-5


def test_updates_a_view_of_a_stacked_cache():
    """One layer of a (layers, batch, d_inner, d_state) cache is updated, the rest untouched."""
    cache = torch.randn(3, 2, 6, 5, generator=torch.Generator().manual_seed(3)).to(DEVICE)
    before = cache.clone()
    inputs = make_step(2, 6, 5)
    state_ref = cache[1].clone()
    y = triton_update.selective_state_update_triton(cache[1], **inputs, dt_softplus=True)
    y_ref = selective_state_update_ref(state_ref, **inputs, dt_softplus=True)
    assert rel_err(y, y_ref) < 1e-5 and rel_err(cache[1], state_ref) < 1e-5
    assert torch.equal(cache[0], before[0]) and torch.equal(cache[2], before[2])


def test_decoding_token_by_token_matches_the_scan():
    batch, dim, d_state, length = 2, 5, 6, 9
    g = torch.Generator().manual_seed(4)
    seq = {
        "u": torch.randn(batch, dim, length, generator=g),
        "delta": torch.randn(batch, dim, length, generator=g) * 0.5 - 1,
        "A": -torch.rand(dim, d_state, generator=g) - 0.1,
        "B": torch.randn(batch, d_state, length, generator=g),
        "C": torch.randn(batch, d_state, length, generator=g),
        "D": torch.randn(dim, generator=g),
        "z": torch.randn(batch, dim, length, generator=g),
        "delta_bias": torch.randn(dim, generator=g) * 0.1,
    }
    seq = {k: v.to(DEVICE) for k, v in seq.items()}
    y_ref, last_ref = selective_scan_ref(**seq, delta_softplus=True, return_last_state=True)
    state = torch.zeros(batch, dim, d_state, device=DEVICE)
    ys = [
        triton_update.selective_state_update_triton(
            state,
            seq["u"][..., t],
            seq["delta"][..., t],
            seq["A"],
            seq["B"][..., t],
            seq["C"][..., t],
            seq["D"],
            seq["z"][..., t],
            seq["delta_bias"],
            dt_softplus=True,
        )  # fmt: skip
        for t in range(length)
    ]
    assert rel_err(torch.stack(ys, -1), y_ref) < 1e-5 and rel_err(state, last_ref) < 1e-5


@pytest.mark.parametrize("backend", ["triton", "reference"])
def test_routing(monkeypatch, backend):
    monkeypatch.setenv("SEQMODELS_SCAN", backend)
    calls = []
    monkeypatch.setattr(
        triton_update, "selective_state_update_triton", lambda *a, **k: calls.append(a)
    )
    selective_state_update(torch.zeros(1, 3, 4, device=DEVICE), **make_step(1, 3, 4))
    assert bool(calls) == (backend == "triton")


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(B=torch.zeros(2, 5)), "B must have shape"),
        (dict(state=torch.zeros(2, 3, 4, dtype=torch.float64)), "float32"),
        (dict(state=torch.zeros(2, 4, 3).transpose(1, 2)), "unit stride"),
    ],
    ids=["bad-shape", "fp64-state", "strided-state"],
)
def test_rejects_bad_inputs(change, message):
    args = {"state": torch.zeros(2, 3, 4)} | make_step(2, 3, 4)
    args |= {k: v.to(DEVICE) for k, v in change.items()}
    with pytest.raises(ValueError, match=message):
        triton_update.selective_state_update_triton(**args)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("d_state", [16, 256], ids=lambda n: f"d_state-{n}")
def test_gpu_against_reference(dtype, d_state):
    state = torch.randn(4, 1536, d_state, device=DEVICE)
    state_ref = state.clone()
    inputs = make_step(4, 1536, d_state, dtype=dtype)
    y = triton_update.selective_state_update_triton(state, **inputs, dt_softplus=True)
    y_ref = selective_state_update_ref(state_ref, **inputs, dt_softplus=True)
    tol = 1e-5 if dtype == torch.float32 else 1e-2
    assert rel_err(y, y_ref) < tol and rel_err(state, state_ref) < 1e-5


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize(
    "case",
    [(3, 77, 7, {}), (1, 130, 33, dict(z=False)), (5, 45, 64, dict(D=False, z=False, bias=False))],
    ids=["d_state-7", "d_state-33-no-z", "d_state-64-bare"],
)
@pytest.mark.parametrize("softplus", [True, False], ids=["softplus", "raw-dt"])
def test_gpu_odd_shapes(dtype, case, softplus):
    """Ragged channel blocks and states, over several steps: y and the state in place."""
    batch, dim, d_state, options = case
    state = torch.randn(batch, dim, d_state, generator=torch.Generator().manual_seed(2)).to(DEVICE)
    state_ref = state.clone()
    tol = 1e-5 if dtype == torch.float32 else 1e-2
    for step in range(4):
        inputs = make_step(batch, dim, d_state, dtype=dtype, seed=step, **options)
        y = triton_update.selective_state_update_triton(state, **inputs, dt_softplus=softplus)
        y_ref = selective_state_update_ref(state_ref, **inputs, dt_softplus=softplus)
        assert y.dtype == dtype
        assert rel_err(y, y_ref) < tol and rel_err(state, state_ref) < 1e-5
