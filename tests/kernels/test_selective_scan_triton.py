"""The fused Triton selective scan against the reference: output, last state and every gradient.

Without a GPU the kernels run on CPU tensors in Triton's interpreter (fp32 only), which
tests/conftest.py switches on before anything imports triton. With a GPU the same tests run
compiled, plus the bf16 ones marked `gpu`.
"""

import pytest
import torch

from seqmodels.kernels.scan import selective_scan, selective_scan_ref
from seqmodels.kernels.scan import triton as triton_scan

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"


@pytest.fixture(autouse=True)
def _nan_outputs(nan_outputs):
    nan_outputs(triton_scan)


def make_inputs(
    batch: int,
    dim: int,
    d_state: int,
    length: int,
    *,
    D: bool = True,
    z: bool = True,
    bias: bool = True,
    h0: bool = True,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> dict:
    """Inputs in Mamba's ranges: A < 0, Δ around softplus(-1) so decays are neither 0 nor 1."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0, shift=0.0):
        return (torch.randn(*shape, generator=g) * scale + shift).to(DEVICE)

    return {
        "u": rand(batch, dim, length).to(dtype),
        "delta": rand(batch, dim, length, scale=0.5, shift=-1.0).to(dtype),
        "A": -torch.rand(dim, d_state, generator=g).to(DEVICE) * 2 - 0.1,
        "B": rand(batch, d_state, length).to(dtype),
        "C": rand(batch, d_state, length).to(dtype),
        "D": rand(dim) if D else None,
        "z": rand(batch, dim, length).to(dtype) if z else None,
        "delta_bias": rand(dim, scale=0.1) if bias else None,
        "initial_state": rand(batch, dim, d_state) if h0 else None,
    }


def rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()


def check(inputs: dict, *, softplus: bool, last_only: bool = False, tol: float = 1e-5, **plan):
    """Forward and backward of the kernel (inputs' dtype) and of the reference (float64), with
    random output gradients, compared on y, the last state and every input's gradient."""
    runs = {}
    for name, cast in (("kernel", None), ("reference", torch.float64)):
        args = {
            k: (v.to(cast) if cast else v.clone()).requires_grad_() if v is not None else None
            for k, v in inputs.items()
        }
        fn = selective_scan_ref if cast else triton_scan.selective_scan_triton
        extra = {} if cast else plan
        y, last = fn(**args, delta_softplus=softplus, return_last_state=True, **extra)
        g = torch.Generator().manual_seed(1)
        gy = torch.randn(y.shape, generator=g).to(DEVICE, y.dtype)
        glast = torch.randn(last.shape, generator=g).to(DEVICE, last.dtype)
        loss = (last * glast).sum() if last_only else (y * gy).sum() + (last * glast).sum()
        loss.backward()
        runs[name] = (y, last, {k: v.grad for k, v in args.items() if v is not None})
    (y, last, grads), (y_ref, last_ref, grads_ref) = runs["kernel"], runs["reference"]
    assert y.dtype == inputs["u"].dtype and last.dtype == torch.float32
    errors = {"y": rel_err(y, y_ref), "last": rel_err(last, last_ref)}
    for k, want in grads_ref.items():
        if want is None:  # the loss does not depend on it (z when only the last state is used)
            assert grads[k] is None or not grads[k].any(), k
        else:
            errors[f"d{k}"] = rel_err(grads[k], want)
    assert all(e < tol for e in errors.values()), errors


# (batch, d_inner, d_state, L, chunk_size, segments, options): small for the interpreter, each
# case covering several edges; chunk 8 is two register tiles of 4 tokens in the interpreter
CASES = {
    "L1": (1, 3, 4, 1, 8, None, {}),
    "chunk-boundaries-at-end": (2, 5, 6, 24, 8, None, {}),
    "ragged-last-chunk": (2, 5, 6, 37, 8, None, {}),
    "ragged-tile-inside-chunk": (1, 4, 3, 13, 16, None, {}),
    "d_inner-over-one-block": (1, 19, 16, 20, 8, None, {}),
    "d_state-33-wide-layout": (1, 3, 33, 17, 8, None, {}),
    "bare": (2, 5, 6, 29, 8, None, dict(D=False, z=False, bias=False, h0=False)),
    "no-z-no-h0": (1, 6, 5, 21, 8, None, dict(z=False, h0=False)),
    "no-D-no-bias": (2, 3, 8, 19, 8, None, dict(D=False, bias=False)),
    "seq-parallel-2": (2, 5, 6, 37, 8, 2, {}),
    "seq-parallel-5-ragged": (1, 5, 6, 37, 8, 5, {}),
    "seq-parallel-bare": (2, 3, 4, 40, 8, 3, dict(D=False, z=False, bias=False, h0=False)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("softplus", [True, False], ids=["softplus", "raw-delta"])
def test_matches_reference(case, softplus):
    batch, dim, d_state, length, chunk, segments, options = case
    inputs = make_inputs(batch, dim, d_state, length, **options)
    check(inputs, softplus=softplus, chunk_size=chunk, segments=segments)


@pytest.mark.parametrize("segments", [1, 3], ids=["single-pass", "seq-parallel"])
def test_gradient_through_last_state_only(segments):
    """dy is None in the backward when only the last state is used (prefill for generation)."""
    check(make_inputs(2, 5, 6, 30), softplus=True, last_only=True, chunk_size=8, segments=segments)


def test_default_plan_and_public_function():
    inputs = make_inputs(2, 5, 6, 70)
    y = triton_scan.selective_scan_triton(**inputs, delta_softplus=True)
    y_ref = selective_scan_ref(**inputs, delta_softplus=True)
    assert rel_err(y, y_ref) < 1e-5


def test_no_grad_forward_matches():
    """Without autograd the kernel skips saving chunk states; y and the last state are the same."""
    inputs = make_inputs(1, 5, 6, 37)
    with torch.no_grad():
        y, last = triton_scan.selective_scan_triton(
            **inputs, delta_softplus=True, return_last_state=True, chunk_size=8, segments=2
        )
    y_ref, last_ref = selective_scan_ref(**inputs, delta_softplus=True, return_last_state=True)
    assert rel_err(y, y_ref) < 1e-5 and rel_err(last, last_ref) < 1e-5


def test_only_requested_gradients():
    inputs = make_inputs(1, 3, 4, 9)
    u = inputs["u"].requires_grad_()
    triton_scan.selective_scan_triton(**inputs).sum().backward()
    assert u.grad is not None and inputs["A"].grad is None and inputs["B"].grad is None


@pytest.mark.parametrize("batch, length", [(2, 0), (0, 5)], ids=["L0", "batch0"])
def test_empty_input(batch, length):
    inputs = make_inputs(batch, 3, 4, length)
    y, last = triton_scan.selective_scan_triton(**inputs, return_last_state=True)
    assert y.shape == (batch, 3, length) and last.shape == (batch, 3, 4)
    if length == 0:
        assert torch.equal(last, inputs["initial_state"])


def test_dispatcher_routes_to_triton(monkeypatch):
    monkeypatch.setenv("SEQMODELS_SCAN", "triton")
    inputs = make_inputs(1, 3, 4, 9)
    assert torch.equal(
        selective_scan(**inputs, delta_softplus=True),
        triton_scan.selective_scan_triton(**inputs, delta_softplus=True),
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(B=torch.zeros(1, 5, 9)), "B must have shape"),
        (dict(u=torch.zeros(1, 3, 9, dtype=torch.int32)), "float32, float16 or bfloat16"),
        (dict(A=torch.zeros(3, 257)), "d_state must be at most 256"),
    ],
    ids=["bad-shape", "int-input", "d_state-too-big"],
)
def test_rejects_bad_inputs(change, message):
    inputs = make_inputs(1, 3, 4, 9) | {k: v.to(DEVICE) for k, v in change.items()}
    if "A" in change:
        inputs |= {k: torch.zeros(1, 257, 9, device=DEVICE) for k in ("B", "C")}
        inputs["initial_state"] = None
    with pytest.raises(ValueError, match=message):
        triton_scan.selective_scan_triton(**inputs)


def test_rejects_bad_chunk_size():
    with pytest.raises(ValueError, match="power of two"):
        triton_scan.selective_scan_triton(**make_inputs(1, 3, 4, 9), chunk_size=12)


@pytest.mark.slow
@pytest.mark.parametrize("segments", [1, 4], ids=["single-pass", "seq-parallel"])
def test_larger_shapes(segments):
    check(make_inputs(2, 32, 16, 300), softplus=True, chunk_size=16, segments=segments)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("segments", [None, 1, 7], ids=["auto", "single-pass", "seq-parallel"])
@pytest.mark.parametrize("d_state", [16, 64, 256], ids=lambda n: f"d_state-{n}")
def test_gpu_against_reference(dtype, segments, d_state):
    """Compiled kernels with the autotuned configs, on shapes past several chunks and blocks."""
    inputs = make_inputs(2, 96, d_state, 700, dtype=dtype)
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    check(inputs, softplus=True, tol=tol, segments=segments)


# (batch, d_inner, d_state, L, segments, options, softplus): shapes no block, tile or chunk divides
GPU_ODD = {
    "all-options": (3, 77, 16, 1237, None, {}, True),
    "d_state-7-bare-raw-delta": (
        1,
        45,
        7,
        999,
        5,
        dict(D=False, z=False, bias=False, h0=False),
        False,
    ),
    "d_state-33-no-z": (2, 19, 33, 513, 3, dict(z=False), True),
    "d_state-64-no-D-no-bias": (1, 130, 64, 2049, None, dict(D=False, bias=False), True),
    "L1-one-channel": (1, 1, 3, 1, None, {}, True),
}


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("case", GPU_ODD.values(), ids=GPU_ODD.keys())
def test_gpu_odd_shapes(dtype, case):
    """Compiled kernels on shapes with ragged channel blocks, tiles, chunks and segments: y, the
    last state and every gradient against the float64 reference."""
    batch, dim, d_state, length, segments, options, softplus = case
    inputs = make_inputs(batch, dim, d_state, length, dtype=dtype, **options)
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    check(inputs, softplus=softplus, tol=tol, segments=segments)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("segments", [1, 4], ids=["single-pass", "seq-parallel"])
def test_gpu_gradient_through_last_state_only(dtype, segments):
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    inputs = make_inputs(2, 40, 16, 600, dtype=dtype)
    check(inputs, softplus=True, last_only=True, tol=tol, segments=segments)
