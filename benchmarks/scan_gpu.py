"""Benchmark of the fused Triton selective scan on a GPU: correctness, then speed against the copy
bandwidth, mambapy's parallel scan, the PyTorch reference and mamba_ssm's CUDA kernel.

1. Correctness on fresh random inputs, against `selective_scan_ref` in float64: y, the last state
   and every gradient, for fp32 and bf16 inputs, through the single-pass and the sequence-parallel
   plans and the automatic one (small L: the reference is a loop over tokens). --no-check skips
   it (`pytest -m gpu` covers it).
2. Bandwidth: a device-to-device copy of 2 GiB (read + write), measured in the same run, the
   floor to compare with.
3. Time (median of triton.testing.do_bench) of the forward (under no_grad, as in inference) and of
   forward + backward (gradients for every input), d_inner 1536, d_state 16, bf16, at each
   --batches and --lengths (default batch 1, L = 2^12 ... 2^20), for:
   - triton: `selective_scan_triton`,
   - mambapy: mambapy's `pscan` (pure PyTorch, a Blelloch scan over (batch, L, d_inner, d_state)
     tensors) inside the same selective scan, when mambapy imports and its tensors fit,
   - torch: `selective_scan_ref` run on the GPU, a loop of per-token torch ops (L <= 2^12 only),
   - mamba_ssm: `mamba_ssm.ops.selective_scan_interface.selective_scan_fn`, when it imports.
   A case whose estimated memory does not fit is reported as such, not run.
4. A table: time, achieved GB/s (bytes of u, delta, z, B and C read and y written, whichever
   pass), and that as a fraction of the copy bandwidth. The exps, not the bytes, bound the scan
   (docs/selective_scan.md), so expect well under 100%.

Usage: python benchmarks/scan_gpu.py [--lengths 4096,65536] [--batches 1,8] [--no-check]
           [--budget-s 300] [--dry-run]
--dry-run: tiny shapes on the CPU (the Triton scan through the interpreter when TRITON_INTERPRET=1
is set, else left out), wall-clock timing: checks the script, measures nothing.
Stops starting new cases after --budget-s seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

D_INNER, D_STATE = 1536, 16
LENGTHS = tuple(2**k for k in range(12, 21))
BATCHES = (1,)
TORCH_MAX_L = 4096  # the per-token torch loop beyond this takes minutes
# bytes held per (token, channel) at bf16: u, delta, z, y; for the backward also the saved states,
# dy, and the 3 gradients twice (the .grad being accumulated into and the new one)
BYTES_PER_TOKEN_CHANNEL = {"fwd": 8.5, "fwd+bwd": 24.0}
# mambapy holds (batch, L, d_inner, d_state) tensors: exp(ΔA), ΔBu, their clones and the states
# (forward), and about as many again for the backward; in the input dtype
MAMBAPY_TENSORS = {"fwd": 5, "fwd+bwd": 12}


def make_inputs(
    batch: int, length: int, dtype: torch.dtype, device: str, d_inner: int = D_INNER, seed: int = 0
) -> dict:
    """Inputs in Mamba's ranges: Δ = softplus(δ + bias) ~ 0.001..0.1, A = -(1..N) perturbed.
    Drawn directly in `dtype`: fp32 temporaries at batch 8 x 2^20 tokens would not fit."""
    g = torch.Generator(device=device).manual_seed(seed)

    def rand(*shape, dtype=dtype):
        return torch.randn(*shape, generator=g, device=device, dtype=dtype)

    arange = torch.arange(1, D_STATE + 1.0, device=device).repeat(d_inner, 1)
    delta = torch.rand(batch, d_inner, length, generator=g, device=device, dtype=dtype)
    return {
        "u": rand(batch, d_inner, length),
        "delta": delta.mul_(4.4).sub_(6.8),
        "A": -arange * (0.5 + torch.rand(d_inner, D_STATE, generator=g, device=device)),
        "B": rand(batch, D_STATE, length),
        "C": rand(batch, D_STATE, length),
        "D": rand(d_inner, dtype=torch.float32),
        "z": rand(batch, d_inner, length),
        "delta_bias": rand(d_inner, dtype=torch.float32).mul_(0.1),
    }


def rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()


def check_correctness(
    device: str,
    dtypes=((torch.float32, 1e-4), (torch.bfloat16, 2e-2)),
    batch=2,
    d_inner=256,
    length=700,
) -> bool:
    """Kernel against the float64 reference on the same inputs, per (dtype, tolerance), through
    three plans; prints the errors."""
    from seqmodels.kernels.scan import selective_scan_ref
    from seqmodels.kernels.scan.triton import selective_scan_triton

    ok = True
    print(
        f"correctness (max |error| / max |reference|), batch {batch}, d_inner {d_inner}, "
        f"d_state {D_STATE}, L {length}:"
    )
    for dtype, tol in dtypes:
        inputs = make_inputs(batch, length, dtype, device, d_inner=d_inner, seed=1)
        inputs["initial_state"] = torch.randn(batch, d_inner, D_STATE, device=device)
        for plan in (None, 1, 7):
            errors = compare(inputs, selective_scan_ref, selective_scan_triton, segments=plan)
            worst = max(errors.values())
            ok &= worst < tol
            label = {None: "auto plan", 1: "single pass", 7: "7 segments"}[plan]
            print(
                f"  {str(dtype)[6:]:9} {label:12} worst {worst:.1e} (tolerance {tol:.0e}): "
                + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
            )
    return ok


def compare(inputs: dict, reference: Callable, kernel: Callable, **plan) -> dict[str, float]:
    runs = {}
    device = inputs["u"].device
    for name, fn, cast, extra in (
        ("kernel", kernel, None, plan),
        ("reference", reference, torch.float64, {}),
    ):
        args = {k: (v.to(cast) if cast else v.clone()).requires_grad_() for k, v in inputs.items()}
        y, last = fn(**args, delta_softplus=True, return_last_state=True, **extra)
        g = torch.Generator(device=device).manual_seed(2)
        gy = torch.randn(y.shape, generator=g, device=device)
        glast = torch.randn(last.shape, generator=g, device=device)
        ((y * gy.to(y.dtype)).sum() + (last * glast.to(last.dtype)).sum()).backward()
        runs[name] = (y, last, {k: v.grad for k, v in args.items()})
    (y, last, grads), (y_ref, last_ref, grads_ref) = runs["kernel"], runs["reference"]
    errors = {"y": rel_err(y, y_ref), "last": rel_err(last, last_ref)}
    return errors | {f"d{k}": rel_err(grads[k], grads_ref[k]) for k in grads}


def median_ms(fn: Callable[[], object], device: str) -> float:
    if device == "cuda":
        import triton.testing

        return triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median")
    fn()  # warm-up
    times = []
    for _ in range(2):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1e3)
    return statistics.median(times)


def copy_bandwidth(device: str, elements: int = 1 << 30) -> float:
    """GB/s of a device-to-device copy (bytes read + bytes written)."""
    src = torch.empty(elements, dtype=torch.int16, device=device)
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src), device)
    return 2 * src.numel() * src.element_size() / ms / 1e6


def scan_bytes(batch: int, length: int, pass_: str, d_inner: int = D_INNER) -> int:
    """Bytes the pass must move at bf16: u, delta, z, B, C in and y out; the backward also reads
    them and dy again and writes du, ddelta, dz, dB and dC."""
    per_channel, per_state = 2 * batch * length * d_inner, 2 * batch * length * D_STATE
    forward = 4 * per_channel + 2 * per_state
    return forward if pass_ == "fwd" else forward + 7 * per_channel + 4 * per_state


def free_bytes(device: str) -> float:
    if device != "cuda":
        return float("inf")
    torch.cuda.empty_cache()
    return torch.cuda.mem_get_info()[0]


def fits(batch: int, length: int, pass_: str, device: str, d_inner: int = D_INNER) -> bool:
    need = BYTES_PER_TOKEN_CHANNEL[pass_] * batch * length * d_inner
    return need < 0.85 * free_bytes(device)


def mambapy_scan(pscan: Callable) -> Callable:
    """selective_scan's contract on top of mambapy's pscan (its (batch, L, d_inner, d_state)
    layout), as mambapy's MambaBlock.selective_scan does it, plus the z gate."""

    def scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
        x, dt = u.transpose(1, 2), delta.transpose(1, 2)  # (batch, L, d_inner)
        if delta_bias is not None:
            dt = dt + delta_bias.to(dt.dtype)
        if delta_softplus:
            dt = F.softplus(dt)
        Bt, Ct = B.transpose(1, 2), C.transpose(1, 2)  # (batch, L, d_state)
        dA = torch.exp(dt.unsqueeze(-1) * A.to(dt.dtype))  # (batch, L, d_inner, d_state)
        bx = (dt * x).unsqueeze(-1) * Bt.unsqueeze(2)
        hs = pscan(dA, bx)
        y = (hs @ Ct.unsqueeze(-1)).squeeze(3)
        if D is not None:
            y = y + D.to(y.dtype) * x
        if z is not None:
            y = y * F.silu(z.transpose(1, 2))
        return y.transpose(1, 2)

    return scan


def runners(length: int, device: str, triton_ok: bool) -> dict[str, Callable]:
    """Scan functions to time, by name; each takes the inputs as keyword arguments."""
    from seqmodels.kernels.scan import selective_scan_ref

    found = {}
    if triton_ok:
        from seqmodels.kernels.scan.triton import selective_scan_triton

        found["triton"] = selective_scan_triton
    try:
        from mambapy.pscan import pscan
    except ImportError:
        pass
    else:
        found["mambapy"] = mambapy_scan(pscan)
    if length <= TORCH_MAX_L:
        found["torch"] = selective_scan_ref
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except ImportError:
        pass
    else:
        found["mamba_ssm"] = selective_scan_fn
    return found


def method_fits(name: str, batch: int, length: int, pass_: str, device: str, d_inner: int):
    if name != "mambapy":
        return True
    need = MAMBAPY_TENSORS[pass_] * batch * length * d_inner * D_STATE * 2
    return need < 0.85 * free_bytes(device)


def time_case(fn: Callable, inputs: dict, pass_: str, device: str) -> float:
    if pass_ == "fwd":

        def call():
            with torch.no_grad():
                fn(**inputs, delta_softplus=True)

        return median_ms(call, device)
    args = {k: v.detach().requires_grad_() for k, v in inputs.items()}
    grad = torch.randn_like(args["u"])
    grads = list(args.values())
    return median_ms(
        lambda: torch.autograd.backward(fn(**args, delta_softplus=True), grad, inputs=grads),
        device,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--no-check", action="store_true", help="skip the correctness check")
    parser.add_argument("--budget-s", type=float, default=300.0, help="no new case after this")
    parser.add_argument("--dry-run", action="store_true", help="tiny shapes on the CPU")
    args = parser.parse_args(argv)
    lengths = [int(v) for v in args.lengths.split(",")]
    batches = [int(v) for v in args.batches.split(",")]
    if args.dry_run:
        from seqmodels.kernels.triton_utils import INTERPRET

        device, d_inner, lengths, triton_ok = "cpu", 8, [32], INTERPRET
        print("dry run: tiny shapes on the CPU, wall-clock timing; nothing here is a measurement")
        if not triton_ok:
            print("(the Triton scan is left out: set TRITON_INTERPRET=1 to run it interpreted)")
    elif not torch.cuda.is_available():
        print(
            "scan_gpu.py needs a CUDA GPU (none found); --dry-run checks the script on the CPU, "
            "benchmarks/scan_cpu.py measures the CPU."
        )
        return 2
    else:
        device, d_inner, triton_ok = "cuda", D_INNER, True
    start = time.monotonic()
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(f"device: {name}, torch {torch.__version__}")
    ok = True
    if not args.no_check and triton_ok:
        if args.dry_run:  # the interpreter is slow: one dtype, a short sequence
            ok = check_correctness(device, ((torch.float32, 1e-4),), length=24, d_inner=d_inner)
        else:
            ok = check_correctness(device, d_inner=d_inner)
    bandwidth = copy_bandwidth(device, 1 << 20 if args.dry_run else 1 << 30)
    print(f"device-to-device copy: {bandwidth:.0f} GB/s\n")
    dtype = "fp32 (the interpreter's)" if args.dry_run and triton_ok else "bf16"
    print(f"d_inner {d_inner}, d_state {D_STATE}, {dtype} inputs, delta_softplus, D, z, delta_bias")

    header = "| batch | L | pass | method | ms | GB/s | of copy |"
    print(header + "\n|" + "---|" * (header.count("|") - 1))
    for batch in batches:
        for length in lengths:
            for pass_ in ("fwd", "fwd+bwd"):
                row = f"| {batch} | {length} | {pass_} |"
                if time.monotonic() - start > args.budget_s:
                    print(f"{row} (time budget spent) | | | |")
                    continue
                if not fits(batch, length, pass_, device, d_inner):
                    print(f"{row} (does not fit in memory) | | | |")
                    continue
                inputs = make_inputs(batch, length, torch.bfloat16, device, d_inner=d_inner)
                if args.dry_run and triton_ok:
                    inputs = {k: v.float() for k, v in inputs.items()}  # the interpreter: fp32
                for method, fn in runners(length, device, triton_ok).items():
                    if not method_fits(method, batch, length, pass_, device, d_inner):
                        print(f"{row} {method} (does not fit in memory) | | | |")
                        continue
                    try:
                        ms = time_case(fn, inputs, pass_, device)
                    except torch.cuda.OutOfMemoryError:
                        print(f"{row} {method} (out of memory) | | | |")
                        continue
                    gbs = scan_bytes(batch, length, pass_, d_inner) / ms / 1e6
                    line = f"{row} {method} | {ms:.3f} | {gbs:.0f} | {gbs / bandwidth:.0%} |"
                    print(line, flush=True)
                del inputs
    verdict = "not checked" if args.no_check or not triton_ok else "ok" if ok else "FAILED"
    print(f"\nfinished in {time.monotonic() - start:.0f} s; correctness {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
