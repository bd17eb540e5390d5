"""Benchmark of the fused Triton selective scan on a GPU: correctness, then speed against the copy
bandwidth, a PyTorch path and mamba_ssm's CUDA kernel.

1. Correctness on fresh random inputs, against `selective_scan_ref` in float64: y, the last state
   and every gradient, for fp32 and bf16 inputs, through the single-pass and the sequence-parallel
   plans and the automatic one (small L: the reference is a loop over tokens).
2. Bandwidth: a device-to-device copy of 2 GiB (read + write), the floor to compare with.
3. Time (median of triton.testing.do_bench) of the forward (under no_grad, as in inference) and of
   forward + backward (gradients for every input), batch 1 and 8, d_inner 1536, d_state 16, bf16,
   L = 2k, 16k, 128k and 2^20 (a case whose estimated memory does not fit is skipped), for:
   - triton: `selective_scan_triton`,
   - torch: `selective_scan_ref` run on the GPU, a loop of per-token torch ops (L = 2k only),
   - mamba_ssm: `mamba_ssm.ops.selective_scan_interface.selective_scan_fn`, when it imports.
4. A table: time, achieved GB/s (bytes of u, delta, z, B and C read and y written, whichever
   pass), and that as a fraction of the copy bandwidth. The exps, not the bytes, bound the scan
   (KERNELS.md), so expect well under 100%.

Usage: python benchmarks/scan_gpu.py [--lengths 2048,16384] [--batches 1,8]
Finishes in under 6 minutes on an H200; stops starting new cases after TIME_BUDGET_S.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import torch

DEVICE = "cuda"
D_INNER, D_STATE = 1536, 16
LENGTHS = (2048, 16384, 131072, 1 << 20)
BATCHES = (1, 8)
TORCH_MAX_L = 2048  # the per-token torch loop beyond this takes minutes
TIME_BUDGET_S = 300.0
# bytes held per (token, channel) at bf16: u, delta, z, y; for the backward also the saved states,
# dy, and the 3 gradients twice (the .grad being accumulated into and the new one)
BYTES_PER_TOKEN_CHANNEL = {"fwd": 8.5, "fwd+bwd": 24.0}


def make_inputs(
    batch: int, length: int, dtype: torch.dtype, d_inner: int = D_INNER, seed: int = 0
) -> dict:
    """Inputs in Mamba's ranges: Δ = softplus(δ + bias) ~ 0.001..0.1, A = -(1..N) perturbed.
    Drawn directly in `dtype`: fp32 temporaries at batch 8 x 2^20 tokens would not fit."""
    g = torch.Generator(device=DEVICE).manual_seed(seed)

    def rand(*shape, dtype=dtype):
        return torch.randn(*shape, generator=g, device=DEVICE, dtype=dtype)

    arange = torch.arange(1, D_STATE + 1.0, device=DEVICE).repeat(d_inner, 1)
    delta = torch.rand(batch, d_inner, length, generator=g, device=DEVICE, dtype=dtype)
    return {
        "u": rand(batch, d_inner, length),
        "delta": delta.mul_(4.4).sub_(6.8),
        "A": -arange * (0.5 + torch.rand(d_inner, D_STATE, generator=g, device=DEVICE)),
        "B": rand(batch, D_STATE, length),
        "C": rand(batch, D_STATE, length),
        "D": rand(d_inner, dtype=torch.float32),
        "z": rand(batch, d_inner, length),
        "delta_bias": rand(d_inner, dtype=torch.float32).mul_(0.1),
    }


def rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()


def check_correctness(
    dtypes=((torch.float32, 1e-4), (torch.bfloat16, 2e-2)), batch=2, d_inner=256, length=700
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
        inputs = make_inputs(batch, length, dtype, d_inner=d_inner, seed=1)
        inputs["initial_state"] = torch.randn(batch, d_inner, D_STATE, device=DEVICE)
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
    for name, fn, cast, extra in (
        ("kernel", kernel, None, plan),
        ("reference", reference, torch.float64, {}),
    ):
        args = {k: (v.to(cast) if cast else v.clone()).requires_grad_() for k, v in inputs.items()}
        y, last = fn(**args, delta_softplus=True, return_last_state=True, **extra)
        g = torch.Generator(device=DEVICE).manual_seed(2)
        gy = torch.randn(y.shape, generator=g, device=DEVICE)
        glast = torch.randn(last.shape, generator=g, device=DEVICE)
        ((y * gy.to(y.dtype)).sum() + (last * glast.to(last.dtype)).sum()).backward()
        runs[name] = (y, last, {k: v.grad for k, v in args.items()})
    (y, last, grads), (y_ref, last_ref, grads_ref) = runs["kernel"], runs["reference"]
    errors = {"y": rel_err(y, y_ref), "last": rel_err(last, last_ref)}
    return errors | {f"d{k}": rel_err(grads[k], grads_ref[k]) for k in grads}


def median_ms(fn: Callable[[], object]) -> float:
    import triton.testing

    return triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median")


def copy_bandwidth() -> float:
    """GB/s of a device-to-device copy (bytes read + bytes written)."""
    src = torch.empty(1 << 30, dtype=torch.int16, device=DEVICE)
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src))
    return 2 * src.numel() * src.element_size() / ms / 1e6


def scan_bytes(batch: int, length: int, pass_: str) -> int:
    """Bytes the pass must move at bf16: u, delta, z, B, C in and y out; the backward also reads
    them and dy again and writes du, ddelta, dz, dB and dC."""
    per_channel, per_state = 2 * batch * length * D_INNER, 2 * batch * length * D_STATE
    forward = 4 * per_channel + 2 * per_state
    return forward if pass_ == "fwd" else forward + 7 * per_channel + 4 * per_state


def fits(batch: int, length: int, pass_: str) -> bool:
    torch.cuda.empty_cache()
    need = BYTES_PER_TOKEN_CHANNEL[pass_] * batch * length * D_INNER
    return need < 0.85 * torch.cuda.mem_get_info()[0]


def runners(inputs: dict) -> dict[str, Callable]:
    """Scan functions to time, by name; each takes the inputs as keyword arguments."""
    from seqmodels.kernels.scan import selective_scan_ref
    from seqmodels.kernels.scan.triton import selective_scan_triton

    found = {"triton": selective_scan_triton}
    if inputs["u"].shape[-1] <= TORCH_MAX_L:
        found["torch"] = selective_scan_ref
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except ImportError:
        pass
    else:
        found["mamba_ssm"] = selective_scan_fn
    return found


def time_case(fn: Callable, inputs: dict, pass_: str) -> float:
    if pass_ == "fwd":

        def call():
            with torch.no_grad():
                fn(**inputs, delta_softplus=True)

        return median_ms(call)
    args = {k: v.detach().requires_grad_() for k, v in inputs.items()}
    grad = torch.randn_like(args["u"])
    grads = list(args.values())
    return median_ms(
        lambda: torch.autograd.backward(fn(**args, delta_softplus=True), grad, inputs=grads)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("scan_gpu.py needs a CUDA GPU (none found); benchmarks/scan_cpu.py covers the CPU.")
        return 2
    start = time.monotonic()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    ok = check_correctness()
    bandwidth = copy_bandwidth()
    print(f"device-to-device copy: {bandwidth:.0f} GB/s\n")

    header = "| batch | L | pass | method | ms | GB/s | of copy |"
    print(header + "\n|" + "---|" * (header.count("|") - 1))
    for batch in map(int, args.batches.split(",")):
        for length in map(int, args.lengths.split(",")):
            for pass_ in ("fwd", "fwd+bwd"):
                if time.monotonic() - start > TIME_BUDGET_S:
                    print(f"| {batch} | {length} | {pass_} | (time budget spent) | | | |")
                    continue
                if not fits(batch, length, pass_):
                    print(f"| {batch} | {length} | {pass_} | (does not fit in memory) | | | |")
                    continue
                inputs = make_inputs(batch, length, torch.bfloat16)
                for name, fn in runners(inputs).items():
                    try:
                        ms = time_case(fn, inputs, pass_)
                    except torch.cuda.OutOfMemoryError:
                        print(f"| {batch} | {length} | {pass_} | {name} (out of memory) | | | |")
                        continue
                    gbs = scan_bytes(batch, length, pass_) / ms / 1e6
                    print(
                        f"| {batch} | {length} | {pass_} | {name} | {ms:.3f} | {gbs:.0f} "
                        f"| {gbs / bandwidth:.0%} |",
                        flush=True,
                    )
                del inputs
    print(f"\nfinished in {time.monotonic() - start:.0f} s; correctness {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
