"""Benchmark of the selective scan on the CPU: our chunked path against the reference and mambapy.

One run prints a Markdown table of forward time, forward+backward time and peak memory for

- cpu: `selective_scan_cpu` (seqmodels/kernels/scan/cpu.py),
- reference: `selective_scan_ref`, the per-token loop (skipped where it would take over ~60 s),
- mambapy: mambapy's parallel scan (`mambapy.pscan.pscan`) computing the same thing, as
  `mambapy.mamba.MambaBlock.selective_scan` does: Δ = softplus(δ + bias), deltaA = exp(Δ A) and
  BX = Δ B u of shape (batch, L, d_inner, d_state), hs = pscan(deltaA, BX), y = hs · C + D u,
  then y · silu(z) (skipped where its (L, d_inner, d_state) tensors would not fit in memory),

at d_inner 256, d_state 16, fp32, batch 1, for L = 1k, 16k and 128k by default, with the ratio of
mambapy's time to ours.

Times: "fwd" is a forward under torch.no_grad (inference); "fwd+bwd" is a forward with gradients
enabled plus the backward of sum(y · g) for a fixed random g, with gradients for every input. The
first call of each is a warm-up; the time is the median of up to 5 more calls (1 with --quick),
fewer when they add up to REPEAT_BUDGET_S.

Memory: each (method, L) runs in a fresh subprocess of this script, which reads the process's peak
resident set size, resource.getrusage(RUSAGE_SELF).ru_maxrss, right after allocating the inputs
(the baseline), after the first forward and after the first forward+backward. The columns are the
increases over the baseline, so they include what the calls return: y (batch · d_inner · L · 4
bytes: 1 MiB per 1k tokens here) and, for fwd+bwd, also the input gradients (3x more).

Usage: python benchmarks/scan_cpu.py [--lengths 1024,16384] [--quick] [--threads N]
On a machine shared with other jobs, multi-threaded torch ops wait for busy cores: compare runs
made under the same load (printed in the header), or pass --threads 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

D_INNER, D_STATE, BATCH = 256, 16, 1
METHODS = ("cpu", "reference", "mambapy")
REFERENCE_LIMIT_S = 60.0
REPEAT_BUDGET_S = 10.0  # stop repeating a case once its repeats took this long


def make_inputs(length: int) -> dict[str, torch.Tensor]:
    """Realistic fp32 inputs: Δ = softplus(δ + bias) ~ 0.001..0.1 and A = -(1..N) perturbed."""
    g = torch.Generator().manual_seed(0)
    shape = (BATCH, D_INNER, length)
    A = -torch.arange(1, D_STATE + 1.0).repeat(D_INNER, 1)
    return {
        "u": torch.randn(shape, generator=g),
        "delta": torch.rand(shape, generator=g) * 4.4 - 6.8,
        "A": A * (0.5 + torch.rand(D_INNER, D_STATE, generator=g)),
        "B": torch.randn(BATCH, D_STATE, length, generator=g),
        "C": torch.randn(BATCH, D_STATE, length, generator=g),
        "D": torch.randn(D_INNER, generator=g),
        "z": torch.randn(shape, generator=g),
        "delta_bias": torch.rand(D_INNER, generator=g) * 0.4 - 0.2,
    }


def scan_fn(method: str) -> Callable[..., torch.Tensor]:
    """The method as a function of make_inputs' tensors, returning y (batch, d_inner, L)."""
    if method == "mambapy":
        from mambapy.pscan import pscan

        def mambapy_scan(u, delta, A, B, C, D, z, delta_bias):
            x = u.transpose(1, 2)  # (B, L, ED)
            dt = F.softplus(delta + delta_bias[:, None]).transpose(1, 2)  # (B, L, ED)
            deltaA = torch.exp(dt.unsqueeze(-1) * A)  # (B, L, ED, N)
            BX = dt.unsqueeze(-1) * B.transpose(1, 2).unsqueeze(2) * x.unsqueeze(-1)  # same
            hs = pscan(deltaA, BX)  # (B, L, ED, N)
            y = (hs @ C.transpose(1, 2).unsqueeze(-1)).squeeze(3) + D * x  # (B, L, ED)
            return (y * F.silu(z.transpose(1, 2))).transpose(1, 2)  # (B, ED, L)

        return mambapy_scan

    from seqmodels.kernels.scan.cpu import selective_scan_cpu
    from seqmodels.kernels.scan.reference import selective_scan_ref

    fn = selective_scan_cpu if method == "cpu" else selective_scan_ref
    return lambda **inputs: fn(**inputs, delta_softplus=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


PARTS = ("fwd", "fwdbwd")


def run_case(method: str, length: int, repeats: int, parts: list[str]) -> dict[str, float]:
    """Time and measure one (method, L) in this process (a fresh subprocess)."""
    fn = scan_fn(method)
    inputs = make_inputs(length)
    grad_out = torch.randn(BATCH, D_INNER, length, generator=torch.Generator().manual_seed(1))
    base = peak_rss_mib()

    def forward() -> None:
        with torch.no_grad():
            fn(**inputs)

    def forward_backward() -> None:
        leaves = {k: v.detach().requires_grad_() for k, v in inputs.items()}
        (fn(**leaves) * grad_out).sum().backward()

    result = {}
    for part, call in zip(PARTS, (forward, forward_backward), strict=True):
        if part not in parts:
            continue
        times = [timed(call)]
        result[f"{part}_mib"] = peak_rss_mib() - base
        while len(times) <= repeats and sum(times[1:]) < REPEAT_BUDGET_S:
            times.append(timed(call))
        result[f"{part}_s"] = statistics.median(times[1:] or times)
    return result


def spawn_case(method: str, length: int, repeats: int, parts: list[str], threads: int | None):
    """Run one case in a fresh interpreter, so that its peak RSS is its own."""
    cmd = [sys.executable, __file__, "--case", method, str(length), str(repeats), ",".join(parts)]
    if threads:
        cmd += ["--threads", str(threads)]
    # this checkout's seqmodels, installed or not
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} at L = {length} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def available_gib() -> float:
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) / 2**20


def skip_reasons(method: str, length: int, ref: tuple[int, dict]) -> dict[str, str]:
    """Parts of a case that would take too long or too much memory, with the reason.

    `ref` is the reference's last measurement (L, result), to extrapolate from.
    """
    if method == "reference":
        ref_length, ref_result = ref
        grow = length / ref_length
        # the loop's forward is linear in L; its autograd backward is quadratic, because the
        # backward of each per-token slice of the inputs writes a zero-filled full-size gradient
        estimates = {"fwd": ref_result["fwd_s"] * grow, "fwdbwd": ref_result["fwdbwd_s"] * grow**2}
        return {
            part: f"estimated ~{t:.0f} s > {REFERENCE_LIMIT_S:.0f} s"
            for part, t in estimates.items()
            if t > REFERENCE_LIMIT_S
        }
    if method == "mambapy":
        try:
            import mambapy  # noqa: F401
        except ImportError:
            return dict.fromkeys(PARTS, "not installed: pip install mambapy")
        # fp32 tensors of (L, d_inner, d_state) held at the peak, as measured at L = 16k
        tensors = {"fwd": 5, "fwdbwd": 9}
        reasons = {}
        for part, count in tensors.items():
            need = count * BATCH * length * D_INNER * D_STATE * 4 / 2**30
            if need > 0.4 * available_gib():  # leave room for whatever else runs here
                reasons[part] = f"needs ~{need:.0f} GiB, {available_gib():.0f} GiB available"
        return reasons
    return {}


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", help="comma-separated L values (default 1024,16384,131072)")
    parser.add_argument("--quick", action="store_true", help="L = 1k and 16k, one repeat")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's default)")
    parser.add_argument("--case", nargs=4, help=argparse.SUPPRESS)  # METHOD L REPEATS PARTS
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.case:
        method, length, repeats, parts = args.case
        print(json.dumps(run_case(method, int(length), int(repeats), parts.split(","))))
        return

    lengths = sorted(int(x) for x in (args.lengths or "1024,16384,131072").split(","))
    if args.quick and not args.lengths:
        lengths = [1024, 16384]
    print(
        f"selective scan on the CPU: batch {BATCH}, d_inner {D_INNER}, d_state {D_STATE}, fp32, "
        f"softplus, D and z; torch {torch.__version__}, threads: {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    header = ["L", "method", "fwd s", "fwd+bwd s", "fwd peak MiB", "fwd+bwd peak MiB"]
    header += ["mambapy/ours fwd", "mambapy/ours fwd+bwd"]
    rows, notes = [], []
    repeats = 1 if args.quick else 5
    ref = (1024, {"fwd_s": 0.1, "fwdbwd_s": 0.6})  # until measured: about what it takes here
    for length in lengths:
        results = {}
        for method in METHODS:
            skipped = skip_reasons(method, length, ref)
            parts = [p for p in PARTS if p not in skipped]
            print(f"{method} at L = {length}: {', '.join(parts) or 'skipped'}", file=sys.stderr)
            result = spawn_case(method, length, repeats, parts, args.threads) if parts else {}
            if method == "reference" and len(parts) == len(PARTS):
                ref = (length, result)
            results[method] = (result, skipped)
        for method, (r, skipped) in results.items():
            row = [f"{length:,}", method]
            for key in ("fwd_s", "fwdbwd_s", "fwd_mib", "fwdbwd_mib"):
                part = key.split("_")[0]
                if key in r:
                    row.append(f"{r[key]:.3f}" if key.endswith("_s") else f"{r[key]:.0f}")
                elif key.endswith("_mib"):
                    row.append("-")
                else:
                    notes.append(f"{method} {part} at L = {length:,} skipped: {skipped[part]}")
                    row.append(f"skipped [{len(notes)}]")
            theirs = results["mambapy"][0]
            for key in ("fwd_s", "fwdbwd_s"):
                both = method == "cpu" and key in r and key in theirs
                row.append(f"{theirs[key] / r[key]:.1f}x" if both else "")
            rows.append(row)
    print_table(header, rows)
    print()
    for i, note in enumerate(notes, 1):
        print(f"[{i}] {note}")


if __name__ == "__main__":
    main()
