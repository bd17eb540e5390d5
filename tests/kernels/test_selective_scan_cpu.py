"""The CPU selective scan against the reference: output, last state and every input's gradient.

Float64 runs must agree to 1e-10 (same math, different order of operations); fp32 runs are
compared with the float64 reference at 1e-5 and bf16 inputs at 1e-2, as relative errors
max|a - b| / max|b|. Small chunks are forced in many cases so that chunk boundaries (the carry of
the state forwards and of the adjoint backwards) are exercised; every torch.empty the kernel makes
is poisoned with NaN, so an element it forgets to write fails the test.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqmodels.kernels.scan import cpu
from seqmodels.kernels.scan.cpu import selective_scan_cpu
from seqmodels.kernels.scan.reference import selective_scan_ref

OPTIONAL = ("D", "z", "delta_bias", "initial_state")


@pytest.fixture(autouse=True)
def one_thread():
    """These shapes are small: threads only add fork/join waits, long ones on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def poison_empty(monkeypatch):
    """Fill every float tensor from torch.empty / torch.empty_like with NaN."""

    def poisoned(make):
        def wrapper(*args, **kwargs):
            t = make(*args, **kwargs)
            return t.fill_(float("nan")) if t.is_floating_point() else t

        return wrapper

    monkeypatch.setattr(torch, "empty", poisoned(torch.empty))
    monkeypatch.setattr(torch, "empty_like", poisoned(torch.empty_like))


@pytest.fixture
def chunk_tokens(monkeypatch):
    """Call with T to make the CPU path use chunks of T tokens (None keeps the default)."""

    def set_chunk(tokens: int | None) -> None:
        if tokens is not None:
            monkeypatch.setattr(cpu, "CHUNK_ELEMENTS", 1)
            monkeypatch.setattr(cpu, "MIN_CHUNK", tokens)

    return set_chunk


def make_inputs(
    batch: int,
    dim: int,
    n: int,
    length: int,
    dtype: torch.dtype = torch.float64,
    param_dtype: torch.dtype | None = None,
    options: str = "D,z,delta_bias,initial_state",
    softplus: bool = True,
    seed: int = 0,
) -> dict[str, torch.Tensor | None]:
    """Realistic inputs: Δ ~ 0.001..0.1 and A = -(1..N) perturbed, so decays stay in (0, 1).

    δ is drawn in -7..-2.3 so that softplus(δ) is in that range; without `softplus` δ is Δ itself
    and the bias is small and positive. `dtype` is for u, delta, B, C, z; `param_dtype` (default:
    dtype) for A, D, delta_bias and the initial state. `options` names the optional inputs to use.
    """
    g = torch.Generator().manual_seed(seed)
    p = param_dtype or dtype

    def randn(*shape, dt=dtype):
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(dt)

    A = -torch.arange(1, n + 1, dtype=torch.float64).repeat(dim, 1)
    A = A * (0.5 + torch.rand(dim, n, generator=g, dtype=torch.float64))
    delta = -7 + 4.7 * torch.rand(batch, dim, length, generator=g, dtype=torch.float64)
    bias = 0.3 * torch.randn(dim, generator=g, dtype=torch.float64)
    if not softplus:
        delta, bias = F.softplus(delta), 0.01 * bias.abs()
    inputs = {
        "u": randn(batch, dim, length),
        "delta": delta.to(dtype),
        "A": A.to(p),
        "B": randn(batch, n, length),
        "C": randn(batch, n, length),
        "D": randn(dim, dt=p),
        "z": randn(batch, dim, length),
        "delta_bias": bias.to(p),
        "initial_state": randn(batch, dim, n, dt=p),
    }
    for name in OPTIONAL:
        if name not in options.split(","):
            inputs[name] = None
    return inputs


def run(fn, inputs, softplus: bool, loss_on: str = "y,h", seed: int = 1):
    """y, last state and the gradients of a fixed random loss on the chosen outputs."""
    leaves = {
        k: (v.detach().clone().requires_grad_() if v is not None else None)
        for k, v in inputs.items()
    }
    y, h = fn(**leaves, delta_softplus=softplus, return_last_state=True)
    g = torch.Generator().manual_seed(seed)
    loss = 0
    if "y" in loss_on:
        loss = loss + (y.double() * torch.randn(y.shape, generator=g, dtype=torch.float64)).sum()
    if "h" in loss_on:
        loss = loss + (h.double() * torch.randn(h.shape, generator=g, dtype=torch.float64)).sum()
    loss.backward()
    grads = {k: v.grad for k, v in leaves.items() if v is not None}
    return y.detach(), h.detach(), grads


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    actual, expected = actual.double(), expected.double()
    assert torch.isfinite(actual).all(), "non-finite values (an element left unwritten?)"
    if expected.numel() == 0:
        return 0.0
    return ((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


def assert_matches(ours, ref, tol: float) -> None:
    (y, h, grads), (y_ref, h_ref, grads_ref) = ours, ref
    errors = {"y": rel_err(y, y_ref), "last_state": rel_err(h, h_ref)}
    assert grads.keys() == grads_ref.keys()
    for name in grads:
        assert grads[name] is not None, f"no gradient for {name}"
        # the reference leaves None where an input does not reach the loss (z for a loss on h)
        expected = grads_ref[name] if grads_ref[name] is not None else torch.zeros_like(grads[name])
        errors[f"d{name}"] = rel_err(grads[name], expected)
    bad = {k: f"{v:.1e}" for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol:.0e}: {bad}"


CASES = [
    # batch, d_inner, d_state, L, chunk (None: default), optional inputs, softplus
    pytest.param(1, 5, 16, 1, None, "D,z,delta_bias,initial_state", True, id="L1-d5-n16-all"),
    pytest.param(
        2, 37, 16, 63, 16, "D,z,delta_bias,initial_state", True, id="L63-b2-d37-n16-all-T16"
    ),
    pytest.param(1, 37, 16, 63, None, "", False, id="L63-d37-n16-plain"),
    pytest.param(1, 37, 16, 1031, 64, "D,z", True, id="L1031-d37-n16-z-T64"),
    pytest.param(
        2, 5, 64, 1031, 100, "delta_bias,initial_state", True, id="L1031-b2-d5-n64-h0-T100"
    ),
    pytest.param(3, 5, 1, 200, 16, "D,initial_state", False, id="L200-b3-d5-n1-h0-T16"),
    pytest.param(1, 8, 16, 1031, None, "z,delta_bias", True, id="L1031-d8-n16-z-bias"),
    pytest.param(2, 3, 4, 0, None, "D,z,initial_state", True, id="L0-b2-d3-n4"),
    # d_state 20: two groups of the compiled loop, the second padded
    pytest.param(2, 7, 20, 100, 32, "D,z,delta_bias,initial_state", True, id="L100-b2-d7-n20-T32"),
]


@pytest.mark.parametrize("batch, dim, n, length, chunk, options, softplus", CASES)
def test_float64_matches_reference(chunk_tokens, batch, dim, n, length, chunk, options, softplus):
    chunk_tokens(chunk)
    inputs = make_inputs(batch, dim, n, length, options=options, softplus=softplus)
    ours = run(selective_scan_cpu, inputs, softplus)
    assert_matches(ours, run(selective_scan_ref, inputs, softplus), tol=1e-10)


@pytest.mark.parametrize(
    "length, chunk",
    [
        pytest.param(63, None, id="L63"),
        pytest.param(1031, 32, id="L1031-T32"),
        pytest.param(1031, None, id="L1031"),
    ],
)
def test_fp32_matches_float64_reference(chunk_tokens, length, chunk):
    chunk_tokens(chunk)
    inputs = make_inputs(2, 37, 16, length, dtype=torch.float32)
    ours = run(selective_scan_cpu, inputs, softplus=True)
    as64 = {k: v.double() if v is not None else None for k, v in inputs.items()}
    ref = run(selective_scan_ref, as64, softplus=True)
    assert ours[0].dtype == torch.float32 and ours[1].dtype == torch.float32
    assert_matches(ours, ref, tol=1e-5)


def test_bf16_inputs(chunk_tokens):
    chunk_tokens(16)
    inputs = make_inputs(2, 5, 16, 100, dtype=torch.bfloat16, param_dtype=torch.float32)
    y, h, grads = ours = run(selective_scan_cpu, inputs, softplus=True)
    assert y.dtype == torch.bfloat16 and h.dtype == torch.float32
    assert grads["u"].dtype == torch.bfloat16 and grads["A"].dtype == torch.float32
    as64 = {k: v.double() if v is not None else None for k, v in inputs.items()}
    assert_matches(ours, run(selective_scan_ref, as64, softplus=True), tol=1e-2)


@pytest.mark.parametrize("loss_on", ["y", "h"], ids=["loss-y-only", "loss-last-state-only"])
def test_loss_on_one_output(chunk_tokens, loss_on):
    chunk_tokens(16)
    inputs = make_inputs(2, 5, 16, 63)
    ours = run(selective_scan_cpu, inputs, softplus=True, loss_on=loss_on)
    assert_matches(ours, run(selective_scan_ref, inputs, softplus=True, loss_on=loss_on), 1e-10)


def test_gradients_only_where_asked(chunk_tokens):
    """Only u and delta_bias require grad: those get gradients, matching the reference."""
    chunk_tokens(16)
    inputs = make_inputs(1, 5, 16, 40)
    grads = {}
    for fn in (selective_scan_cpu, selective_scan_ref):
        u = inputs["u"].clone().requires_grad_()
        bias = inputs["delta_bias"].clone().requires_grad_()
        y = fn(**{**inputs, "u": u, "delta_bias": bias}, delta_softplus=True)
        (y * torch.linspace(-1, 1, y.shape[-1], dtype=y.dtype)).sum().backward()
        grads[fn] = (u.grad, bias.grad)
    for ours, ref in zip(grads[selective_scan_cpu], grads[selective_scan_ref], strict=True):
        assert rel_err(ours, ref) < 1e-10


def test_no_grad_matches_and_saves_nothing(chunk_tokens):
    chunk_tokens(16)
    inputs = make_inputs(2, 5, 16, 63)
    leaves = {k: v.clone().requires_grad_() for k, v in inputs.items()}
    y, h = selective_scan_cpu(**leaves, delta_softplus=True, return_last_state=True)
    with torch.no_grad():
        y_ng, h_ng = selective_scan_cpu(**leaves, delta_softplus=True, return_last_state=True)
    with torch.inference_mode():
        y_inf = selective_scan_cpu(**inputs, delta_softplus=True)
    assert y_ng.grad_fn is None and not y_ng.requires_grad
    assert torch.equal(y_ng, y.detach()) and torch.equal(h_ng, h.detach())
    assert torch.equal(y_inf, y.detach())


def test_saves_only_inputs_and_chunk_start_states(chunk_tokens):
    """The memory contract: no (L, d_state)-sized tensor is kept for the backward."""
    chunk_tokens(16)
    batch, dim, n, length = 2, 5, 16, 100
    inputs = make_inputs(batch, dim, n, length)
    u = inputs["u"].clone().requires_grad_()
    y = selective_scan_cpu(**{**inputs, "u": u}, delta_softplus=True)
    saved = [t for t in y.grad_fn.saved_tensors if t is not None]
    input_ids = {id(t) for t in inputs.values()} | {id(u)}
    extra = [tuple(t.shape) for t in saved if id(t) not in input_ids]
    assert extra == [(batch, dim, -(-length // 16), n)]


def test_default_chunk_is_bounded():
    """A chunk's per-token buffers hold about CHUNK_ELEMENTS values whatever L is."""
    assert cpu._chunk_len(1, 256, 16, 1 << 20) * 256 <= cpu.CHUNK_ELEMENTS
    assert cpu._chunk_len(1, 256, 16, 10) == 10


def test_noncontiguous_inputs(chunk_tokens):
    """u and z as (batch, L, d_inner) memory seen through transpose, as a mixer produces them."""
    chunk_tokens(16)
    inputs = make_inputs(2, 5, 16, 50)
    strided = {
        **inputs,
        "u": inputs["u"].transpose(1, 2).contiguous().transpose(1, 2),
        "z": inputs["z"].transpose(1, 2).contiguous().transpose(1, 2),
    }
    assert not strided["u"].is_contiguous()
    ours = run(selective_scan_cpu, strided, softplus=True)
    assert_matches(ours, run(selective_scan_ref, inputs, softplus=True), tol=1e-10)


@pytest.mark.parametrize(
    "name, shape, message",
    [
        pytest.param("u", (2, 5), "u must be", id="u-2d"),
        pytest.param("B", (2, 4, 30), "B must have shape", id="B-wrong-d_state"),
        pytest.param("C", (2, 16, 29), "C must have shape", id="C-wrong-L"),
        pytest.param("D", (6,), "D must have shape", id="D-wrong-d_inner"),
        pytest.param("initial_state", (2, 5, 8), "initial_state must have shape", id="h0"),
    ],
)
def test_bad_shapes_raise(name, shape, message):
    inputs = make_inputs(2, 5, 16, 30)
    inputs[name] = torch.zeros(shape, dtype=torch.float64)
    with pytest.raises(ValueError, match=message):
        selective_scan_cpu(**inputs)


def test_rejects_non_cpu_tensors():
    inputs = {k: v.to("meta") for k, v in make_inputs(1, 5, 4, 20).items()}
    with pytest.raises(ValueError, match="needs CPU tensors"):
        selective_scan_cpu(**inputs)


def test_softplus_threshold_matches_reference():
    """Large δ take F.softplus's linear branch; the gradient must follow it too."""
    inputs = make_inputs(1, 5, 4, 20)
    inputs["delta"] = inputs["delta"] + 25 * (torch.arange(20) % 2)
    ours = run(selective_scan_cpu, inputs, softplus=True)
    assert_matches(ours, run(selective_scan_ref, inputs, softplus=True), tol=1e-10)


@pytest.mark.parametrize(
    "batch, dim, n, length, chunk",
    [
        pytest.param(2, 37, 16, 1031, 100, id="L1031-b2-d37-T100"),
        pytest.param(1, 3, 20, 63, 16, id="L63-d3-n20-T16"),
    ],
)
def test_two_threads_match_reference(chunk_tokens, monkeypatch, batch, dim, n, length, chunk):
    """The parallel build: per-thread partials of dA, dB and dC, summed after each chunk."""
    chunk_tokens(chunk)
    inputs = make_inputs(batch, dim, n, length)
    monkeypatch.setenv("SEQMODELS_SCAN_THREADS", "2")
    ours = run(selective_scan_cpu, inputs, softplus=True)
    monkeypatch.delenv("SEQMODELS_SCAN_THREADS")
    assert_matches(ours, run(selective_scan_ref, inputs, softplus=True), tol=1e-10)


def test_import_does_not_load_numba():
    """numba is imported (and its loops compiled or loaded from cache) on the first call only."""
    code = "import sys, seqmodels.kernels.scan.cpu; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_exp2f_accuracy():
    """The fp32 exp of the compiled loops: within 1.1e-7 of exact (about one ulp), unbiased."""
    numba = pytest.importorskip("numba")
    from seqmodels.kernels.scan import _cpu_numba

    @numba.njit(cache=False)
    def exp2_all(x, out):
        for i in range(x.size):
            out[i] = _cpu_numba.exp2(x[i])

    x = np.linspace(-125, 0, 100_001, dtype=np.float32)
    out = np.empty_like(x)
    exp2_all(x, out)
    exact = np.exp2(x.astype(np.float64))
    rel = (out - exact) / exact
    assert np.abs(rel).max() < 1.1e-7 and abs(rel.mean()) < 1e-8


def test_sigmoid_accuracy():
    """The fp32 sigmoid of the backward's loop (via the same exp2), relative error against exact.

    Bounded by (2 + |x|) · 8e-8: the exp2 polynomial's ulp, plus the rounding of x · log2(e) in
    fp32, which grows with |x| (it only matters where σ is tiny).
    """
    numba = pytest.importorskip("numba")
    from seqmodels.kernels.scan import _cpu_numba

    @numba.njit(cache=False, error_model="numpy")
    def sigmoid_all(x, out):
        for i in range(x.size):
            out[i] = _cpu_numba._sigmoid(x[i])

    x = np.linspace(-80, 80, 100_001, dtype=np.float32)
    out = np.empty_like(x)
    sigmoid_all(x, out)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert (np.abs((out - exact) / exact) < (2 + np.abs(x)) * 8e-8).all()
