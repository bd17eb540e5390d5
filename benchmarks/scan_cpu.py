"""Benchmark of the selective scan on the CPU: the compiled path against today's, mambapy and more.

One run prints a Markdown table of forward time, forward+backward time and peak memory for

- cpu: `selective_scan_cpu` (seqmodels/kernels/scan/cpu.py: numba loops), one thread,
- cpu 2t: the same on two threads (SEQMODELS_SCAN_THREADS=2: numba's threads; torch's 2),
- legacy: the CPU path before the compiled loops (`selective_scan_legacy`, kept verbatim at the
  end of this file: chunked, time-major buffers, one in-place torch op per token),
- reference: `selective_scan_ref`, the per-token loop (only where it takes under ~60 s),
- mambapy: mambapy's parallel scan (`mambapy.pscan.pscan`) computing the same thing, as
  `mambapy.mamba.MambaBlock.selective_scan` does: Δ = softplus(δ + bias), deltaA = exp(Δ A) and
  BX = Δ B u of shape (batch, L, d_inner, d_state), hs = pscan(deltaA, BX), y = hs · C + D u,
  then y · silu(z) (skipped where its (L, d_inner, d_state) tensors would not fit in memory),

at d_state 16, fp32, softplus, D and z on, for the training shape (batch 16, d_inner 128, L 512)
and batch 1, d_inner 256 at L = 16k (add --lengths 1024,131072 for more lengths at batch 1).

Times: "fwd" is a forward under torch.no_grad (inference); "fwd+bwd" is a forward with gradients
enabled plus the backward of sum(y · g) for a fixed random g, with gradients for every input. The
first call of each is a warm-up (and numba's compile or cache load); the time is the median of up
to 5 more calls (1 with --quick). Both wall and CPU time (the process's, all threads) are
measured; ratios use CPU time for one-thread methods, which the other jobs of a shared machine
disturb much less than wall time, and wall time for the two-thread row. "exp floor" is the time
of one vectorised torch.exp2 over batch · d_inner · L · d_state fp32 values (one exp per state
update, the least any exact scan must do), measured in the same run; "floor/ours" is that time
over ours (1.0 would be a scan as fast as its exponentials alone).

Memory: each (method, shape) runs in a fresh subprocess of this script, which resets the process's
peak resident set size (VmHWM) right after allocating the inputs (the baseline) and reads it after
the first forward and after the first forward+backward. The columns are the increases over the
baseline, so they include what the calls return: y and, for fwd+bwd, the input gradients.

Usage: python benchmarks/scan_cpu.py [--lengths 1024,16384] [--quick] [--methods cpu,legacy]
(--methods runs only those methods, e.g. `--methods cpu,legacy` for the two goal shapes' ratios
in a few minutes; the full run is the default.)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from seqmodels.kernels.scan.reference import state_dtype

D_STATE = 16
TRAINING_SHAPE = (16, 128, 512)  # batch, d_inner, L: the species task's training step
METHODS = ("cpu", "cpu 2t", "legacy", "reference", "mambapy")
THREADS = {"cpu 2t": 2}  # every other method runs on one thread
REFERENCE_LIMIT_S = 60.0
REPEAT_BUDGET_S = 10.0  # stop repeating a case once its repeats took this long


def make_inputs(batch: int, dim: int, length: int) -> dict[str, torch.Tensor]:
    """Realistic fp32 inputs: Δ = softplus(δ + bias) ~ 0.001..0.1 and A = -(1..N) perturbed."""
    g = torch.Generator().manual_seed(0)
    shape = (batch, dim, length)
    A = -torch.arange(1, D_STATE + 1.0).repeat(dim, 1)
    return {
        "u": torch.randn(shape, generator=g),
        "delta": torch.rand(shape, generator=g) * 4.4 - 6.8,
        "A": A * (0.5 + torch.rand(dim, D_STATE, generator=g)),
        "B": torch.randn(batch, D_STATE, length, generator=g),
        "C": torch.randn(batch, D_STATE, length, generator=g),
        "D": torch.randn(dim, generator=g),
        "z": torch.randn(shape, generator=g),
        "delta_bias": torch.rand(dim, generator=g) * 0.4 - 0.2,
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

    fn = {"legacy": selective_scan_legacy, "reference": selective_scan_ref}.get(
        method, selective_scan_cpu
    )
    return lambda **inputs: fn(**inputs, delta_softplus=True)


def peak_rss_mib(reset: bool = False) -> float:
    """The process's peak RSS (VmHWM); `reset` first sets the peak to the current RSS."""
    if reset:  # so that temporaries of building the inputs do not hide what the calls use
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmHWM"].split()[0]) / 1024


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


PARTS = ("fwd", "fwdbwd")


def run_case(method: str, shape: tuple[int, int, int], repeats: int, parts: list[str]) -> dict:
    """Time and measure one (method, shape) in this process (a fresh subprocess)."""
    fn = scan_fn(method)
    inputs = make_inputs(*shape)
    grad_out = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    base = peak_rss_mib(reset=True)

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
        while len(times) <= repeats and sum(t[0] for t in times[1:]) < REPEAT_BUDGET_S:
            times.append(timed(call))
        kept = times[1:] or times
        result[f"{part}_s"] = statistics.median(t[0] for t in kept)
        result[f"{part}_cpu"] = statistics.median(t[1] for t in kept)
    return result


def exp_floor(shape: tuple[int, int, int], repeats: int = 7) -> float:
    """CPU seconds of one torch.exp2 over batch · d_inner · L · d_state fp32 values, one thread."""
    torch.set_num_threads(1)
    batch, dim, length = shape
    x = -torch.rand(batch * dim * length * D_STATE)
    out = torch.empty_like(x)
    torch.exp2(x, out=out)
    return min(timed(lambda: torch.exp2(x, out=out))[1] for _ in range(repeats))


def spawn_case(method: str, shape: tuple[int, int, int], repeats: int, parts: list[str]):
    """Run one case in a fresh interpreter, so that its peak RSS is its own."""
    case = [method, ",".join(map(str, shape)), str(repeats), ",".join(parts)]
    cmd = [sys.executable, __file__, "--case", *case]
    # this checkout's seqmodels, installed or not
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} at {shape} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def available_gib() -> float:
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) / 2**20


def skip_reasons(method: str, shape: tuple[int, int, int], ref: tuple[int, dict]) -> dict:
    """Parts of a case that would take too long or too much memory, with the reason.

    `ref` is the reference's last measurement (shape, result), to extrapolate from.
    """
    batch, dim, length = shape
    if method == "reference":
        (rb, rd, rl), ref_result = ref
        grow = batch * dim * length / (rb * rd * rl)
        # the loop's forward is linear in L; its autograd backward is quadratic, because the
        # backward of each per-token slice of the inputs writes a zero-filled full-size gradient
        estimates = {
            "fwd": ref_result["fwd_cpu"] * grow,
            "fwdbwd": ref_result["fwdbwd_cpu"] * grow * length / rl,
        }
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
            need = count * batch * length * dim * D_STATE * 4 / 2**30
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
    parser.add_argument(
        "--lengths", help="comma-separated L at batch 1, d_inner 256 (default 16384)"
    )
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument(
        "--methods", help=f"comma-separated subset of {','.join(METHODS)} (default: all)"
    )
    parser.add_argument("--case", nargs=4, help=argparse.SUPPRESS)  # METHOD SHAPE REPEATS PARTS
    args = parser.parse_args()
    if args.case:
        method, shape, repeats, parts = args.case
        torch.set_num_threads(THREADS.get(method, 1))
        os.environ["SEQMODELS_SCAN_THREADS"] = str(THREADS.get(method, 1))
        shape = tuple(int(x) for x in shape.split(","))
        print(json.dumps(run_case(method, shape, int(repeats), parts.split(","))))
        return

    methods = args.methods.split(",") if args.methods else list(METHODS)
    if unknown := set(methods) - set(METHODS):
        parser.error(f"unknown methods {sorted(unknown)}; choose from {', '.join(METHODS)}")
    lengths = sorted(int(x) for x in (args.lengths or "16384").split(","))
    shapes = [TRAINING_SHAPE] + [(1, 256, length) for length in lengths]
    print(
        f"selective scan on the CPU: d_state {D_STATE}, fp32, softplus, D and z; "
        f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
        "CPUs\n"
    )
    header = ["batch, d_inner, L", "method", "fwd s", "fwd CPU s", "fwd+bwd s", "fwd+bwd CPU s"]
    header += ["fwd peak MiB", "fwd+bwd peak MiB", "legacy/ours fwd", "legacy/ours fwd+bwd"]
    header += ["mambapy/ours fwd", "mambapy/ours fwd+bwd", "floor/ours fwd", "floor/ours fwd+bwd"]
    rows, notes, floors = [], [], {}
    repeats = 1 if args.quick else 5
    ref = ((1, 256, 1024), {"fwd_cpu": 0.1, "fwdbwd_cpu": 0.6})  # until measured: about this
    for shape in shapes:
        name = ", ".join(f"{x:,}" for x in shape)
        floors[shape] = exp_floor(shape)
        results = {}
        for method in methods:
            skipped = skip_reasons(method, shape, ref)
            parts = [p for p in PARTS if p not in skipped]
            print(f"{method} at {shape}: {', '.join(parts) or 'skipped'}", file=sys.stderr)
            result = spawn_case(method, shape, repeats, parts) if parts else {}
            if method == "reference" and len(parts) == len(PARTS):
                ref = (shape, result)
            results[method] = (result, skipped)
        for method, (r, skipped) in results.items():
            row = [name, method]
            for key in ("fwd_s", "fwd_cpu", "fwdbwd_s", "fwdbwd_cpu", "fwd_mib", "fwdbwd_mib"):
                part = key.split("_")[0]
                if key in r:
                    row.append(f"{r[key]:.0f}" if key.endswith("_mib") else f"{r[key]:.3f}")
                elif key.endswith("_s"):
                    notes.append(f"{method} {part} at {name} skipped: {skipped[part]}")
                    row.append(f"skipped [{len(notes)}]")
                else:
                    row.append("-")
            # one-thread rows compare CPU time; the two-thread row its wall time
            unit = "_s" if method in THREADS else "_cpu"
            for other in ("legacy", "mambapy"):
                theirs = results.get(other, ({}, {}))[0]
                for part in PARTS:
                    ours_t, their_t = r.get(part + unit), theirs.get(part + "_cpu")
                    both = method.startswith("cpu") and ours_t and their_t
                    row.append(f"{their_t / ours_t:.1f}x" if both else "")
            for part in PARTS:
                t = r.get(part + unit)
                row.append(f"{floors[shape] / t:.2f}" if t and method != "reference" else "")
            rows.append(row)
    print_table(header, rows)
    print()
    for shape, t in floors.items():
        print(
            f"exp floor at {shape}: {t:.4f} s "
            f"(one torch.exp2 over {math.prod(shape) * D_STATE:,} values)"
        )
    for i, note in enumerate(notes, 1):
        print(f"[{i}] {note}")


# ---------------------------------------------------------------------------------------------
# legacy: the CPU path before the compiled loops (seqmodels/kernels/scan/cpu.py as of the commit
# before them), kept here verbatim as the baseline column. Chunked, time-major buffers, one
# in-place torch op per token.
# ---------------------------------------------------------------------------------------------

# Values in one (T, batch, d_inner, d_state) chunk buffer (4 MiB in fp32): large enough that the
# per-chunk work (input transposes, a dozen vectorised ops) is amortised over many tokens, small
# enough to stay in L3 and keep memory flat in L.
CHUNK_ELEMENTS = 2**20
# A floor on T for very wide inputs (batch · d_inner · d_state above CHUNK_ELEMENTS / 16), where
# per-chunk Python work would otherwise dominate.
MIN_CHUNK = 16

LOG2E = math.log2(math.e)


def _chunk_len(batch: int, dim: int, n: int, length: int) -> int:
    """Tokens per chunk: as many as fit in CHUNK_ELEMENTS, at least MIN_CHUNK, at most L."""
    return max(1, min(length, max(MIN_CHUNK, CHUNK_ELEMENTS // (batch * dim * n))))


def _time_major(x: Tensor, s: int, e: int, dtype: torch.dtype) -> Tensor:
    """Tokens s..e of a (batch, channels, L) tensor as a contiguous (T, batch, channels) tensor."""
    # Copy the rows first, then transpose in cache: a direct transposing read strides by L, which
    # for a power-of-two L maps every element to the same cache set and runs ~3x slower.
    piece = x[..., s:e].contiguous()
    return torch.empty(e - s, *piece.shape[:-1], dtype=dtype).copy_(piece.permute(2, 0, 1))


def _sum_over_state(x: Tensor, v: Tensor) -> Tensor:
    """Σ_n x[t, b, d, n] v[t, b, n] → (T, batch, d_inner).

    einsum lowers this to a batched matrix-vector product, which at batch > 1 ran 2x slower here
    than one fused dot product per (t, b, d) (vecdot); at batch 1 it ran 2x faster.
    """
    if x.shape[1] == 1:
        return torch.einsum("tbdn,tbn->tbd", x, v)
    return torch.linalg.vecdot(x, v[:, :, None, :])


class _Chunk(NamedTuple):
    """The inputs of tokens s..e, time-major, in the state dtype."""

    dt: Tensor  # (T, batch, d_inner), Δ
    dt_raw: Tensor | None  # (T, batch, d_inner), δ + bias before the softplus, if there is one
    u: Tensor  # (T, batch, d_inner)
    B: Tensor  # (T, batch, d_state)
    C: Tensor  # (T, batch, d_state)


def _load_chunk(
    u: Tensor,
    delta: Tensor,
    B: Tensor,
    C: Tensor,
    delta_bias: Tensor | None,
    softplus: bool,
    s: int,
    e: int,
    f: torch.dtype,
) -> _Chunk:
    """Read tokens s..e of the inputs; Δ gets the bias and the softplus here."""
    raw = _time_major(delta, s, e, f)
    if delta_bias is not None:
        raw += delta_bias.to(f)
    dt, dt_raw = (F.softplus(raw), raw) if softplus else (raw, None)
    return _Chunk(
        dt, dt_raw, _time_major(u, s, e, f), _time_major(B, s, e, f), _time_major(C, s, e, f)
    )


class _Workspace:
    """Chunk buffers reused by every chunk of one call, with their per-token views made once."""

    def __init__(
        self, chunk: int, batch: int, dim: int, n: int, f: torch.dtype, adjoint: bool = False
    ):
        self.H = torch.empty(chunk + 1, batch, dim, n, dtype=f)  # H[0] = start state, H[t+1] = h_t
        self.dA = torch.empty(chunk, batch, dim, n, dtype=f)  # a_t
        self.lam = torch.empty(chunk, batch, dim, n, dtype=f) if adjoint else None  # λ_t
        # Indexing a tensor costs about as much as the step itself: unbind once, not per token.
        self.h_steps, self.a_steps = self.H.unbind(0), self.dA.unbind(0)
        self.lam_steps = self.lam.unbind(0) if adjoint else ()

    def states(self, ch: _Chunk, A2: Tensor) -> tuple[Tensor, Tensor]:
        """From the start state in H[0], fill a_t and h_t for the chunk; returns H[:T+1], dA[:T]."""
        T = ch.dt.shape[0]
        H, dA = self.H[: T + 1], self.dA[:T]
        torch.mul(ch.dt[..., None], A2, out=dA)
        dA.exp2_()  # exp2 of A · log2(e) is exp(Δ A), and faster than exp on the CPU
        torch.mul((ch.dt * ch.u)[..., None], ch.B[:, :, None, :], out=H[1:])  # x_t
        h, a = self.h_steps, self.a_steps
        for t in range(T):
            h[t + 1].addcmul_(a[t], h[t])
        return H, dA

    def adjoints(self, gy: Tensor, Ct: Tensor, carry: Tensor | None) -> Tensor:
        """λ_t = a_{t+1} λ_{t+1} + gy_t C_t backwards through the chunk; needs `states` first.

        `carry` is a_{t+1} λ_{t+1} for the chunk's last token, from the chunk after it.
        """
        T = gy.shape[0]
        lam = torch.mul(gy[..., None], Ct[:, :, None, :], out=self.lam[:T])
        if carry is not None:
            lam[T - 1] += carry
        lt, a = self.lam_steps, self.a_steps
        for t in range(T - 2, -1, -1):
            lt[t].addcmul_(a[t + 1], lt[t + 1])
        return lam


@torch.autocast("cpu", enabled=False)  # the state and its contractions stay in fp32
def _scan_forward(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
    softplus: bool,
    initial_state: Tensor | None,
    chunk: int,
    keep_chunk_states: bool,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """y (u's dtype), the last state and, if asked, the chunk-start states (b, d, n_chunks, n)."""
    batch, dim, length = u.shape
    n = A.shape[1]
    f = state_dtype(u)
    A2 = A.to(f) * LOG2E
    Df = D.to(f) if D is not None else None
    n_chunks = -(-length // chunk)
    ws = _Workspace(chunk, batch, dim, n, f)
    if initial_state is not None:
        ws.H[0].copy_(initial_state)
    else:
        ws.H[0].zero_()
    starts = torch.empty(batch, dim, n_chunks, n, dtype=f) if keep_chunk_states else None
    y = torch.empty_like(u)
    for c, s in enumerate(range(0, length, chunk)):
        e = min(s + chunk, length)
        if starts is not None:
            starts[:, :, c].copy_(ws.H[0])
        ch = _load_chunk(u, delta, B, C, delta_bias, softplus, s, e, f)
        H, _ = ws.states(ch, A2)
        yt = _sum_over_state(H[1:], ch.C)  # (T, batch, d_inner)
        if Df is not None:
            yt.addcmul_(ch.u, Df)
        if z is not None:
            yt.mul_(F.silu(_time_major(z, s, e, f)))
        y[..., s:e].copy_(yt.permute(1, 2, 0))
        ws.H[0].copy_(H[-1])  # the next chunk starts where this one ends
    return y, ws.H[0].clone(), starts


@torch.autocast("cpu", enabled=False)
def _scan_backward(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
    starts: Tensor,  # (batch, d_inner, n_chunks, d_state)
    softplus: bool,
    chunk: int,
    grad_y: Tensor | None,  # (batch, d_inner, L)
    grad_last: Tensor | None,  # (batch, d_inner, d_state)
    need: dict[str, bool],
) -> dict[str, Tensor | None]:
    """Gradients of the inputs named in `need` that are True, chunk by chunk from the end."""
    batch, dim, length = u.shape
    n = A.shape[1]
    f = state_dtype(u)
    Af = A.to(f)
    A2 = Af * LOG2E
    Df = D.to(f) if D is not None else None
    need_ddt = need["delta"] or need["delta_bias"]
    du = torch.empty_like(u) if need["u"] else None
    ddelta = torch.empty_like(delta) if need["delta"] else None
    dB = torch.empty_like(B) if need["B"] else None
    dC = torch.empty_like(C) if need["C"] else None
    dz = torch.empty_like(z) if need["z"] else None
    dA_sum = torch.zeros(dim, n, dtype=f) if need["A"] else None
    dD_sum = torch.zeros(dim, dtype=f) if need["D"] else None
    dbias_sum = torch.zeros(dim, dtype=f) if need["delta_bias"] else None
    ws = _Workspace(chunk, batch, dim, n, f, adjoint=True)
    carry = grad_last.to(f) if grad_last is not None else None  # a_{t+1} λ_{t+1} at a chunk's end
    for c in reversed(range(starts.shape[2])):
        s, e = c * chunk, min((c + 1) * chunk, length)
        ch = _load_chunk(u, delta, B, C, delta_bias, softplus, s, e, f)
        ws.H[0].copy_(starts[:, :, c])
        H, dA = ws.states(ch, A2)  # (T + 1, batch, d_inner, d_state), (T, ...)

        if grad_y is not None:
            gt = _time_major(grad_y, s, e, f)  # (T, batch, d_inner)
        else:
            gt = ch.u.new_zeros(ch.u.shape)
        if z is not None:
            zt = _time_major(z, s, e, f)
            sz = torch.sigmoid(zt)
            if dz is not None:
                yt = _sum_over_state(H[1:], ch.C)  # y before the gate
                if Df is not None:
                    yt.addcmul_(ch.u, Df)
                dz[..., s:e].copy_((gt * yt * sz * (1 + zt * (1 - sz))).permute(1, 2, 0))
            gy = gt * zt * sz  # g · silu(z)
        else:
            gy = gt

        lam = ws.adjoints(gy, ch.C, carry)  # (T, batch, d_inner, d_state)
        carry = dA[0] * lam[0]

        if dC is not None:
            dC[..., s:e].copy_(torch.einsum("tbd,tbdn->tbn", gy, H[1:]).permute(1, 2, 0))
        if dD_sum is not None:
            dD_sum += (gy * ch.u).sum((0, 1))
        if dB is not None:
            dBt = torch.einsum("tbdn,tbd->tbn", lam, ch.dt * ch.u)
            dB[..., s:e].copy_(dBt.permute(1, 2, 0))
        if du is not None or need_ddt:
            lam_B = _sum_over_state(lam, ch.B)  # Σ_n λ_t B_t
        if du is not None:
            dut = ch.dt * lam_B
            if Df is not None:
                dut.addcmul_(gy, Df)
            du[..., s:e].copy_(dut.permute(1, 2, 0))
        if need_ddt or dA_sum is not None:
            w = dA.mul_(lam).mul_(H[:-1])  # λ_t a_t h_{t-1}, in place: a_t is no longer needed
        if need_ddt:
            # Σ_n w A as mul + sum (into λ's buffer, now free): einsum would first copy w into a
            # channel-batched layout
            ddt = torch.mul(w, Af, out=lam).sum(-1).addcmul_(lam_B, ch.u)  # (T, batch, d_inner)
            if softplus:
                # softplus' = σ, with F.softplus's threshold so that results match the reference
                ddt = torch.ops.aten.softplus_backward(ddt, ch.dt_raw, 1, 20)
            if ddelta is not None:
                ddelta[..., s:e].copy_(ddt.permute(1, 2, 0))
            if dbias_sum is not None:
                dbias_sum += ddt.sum((0, 1))
        if dA_sum is not None:
            dA_sum += w.mul_(ch.dt[..., None]).sum((0, 1))

    return {
        "u": du,
        "delta": ddelta,
        "A": dA_sum.to(A.dtype) if dA_sum is not None else None,
        "B": dB,
        "C": dC,
        "D": dD_sum.to(D.dtype) if dD_sum is not None else None,
        "z": dz,
        "delta_bias": dbias_sum.to(delta_bias.dtype) if dbias_sum is not None else None,
        "initial_state": carry if need["initial_state"] else None,  # ∂h_{-1} = a_0 λ_0
    }


_GRAD_NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias", "initial_state")


class _SelectiveScanCPU(torch.autograd.Function):
    """Saves the inputs and the chunk-start states; the backward recomputes each chunk."""

    @staticmethod
    def forward(
        ctx,
        u: Tensor,
        delta: Tensor,
        A: Tensor,
        B: Tensor,
        C: Tensor,
        D: Tensor | None,
        z: Tensor | None,
        delta_bias: Tensor | None,
        initial_state: Tensor | None,
        softplus: bool,
        chunk: int,
    ) -> tuple[Tensor, Tensor]:
        y, last, starts = _scan_forward(
            u, delta, A, B, C, D, z, delta_bias, softplus, initial_state, chunk, True
        )
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, starts)
        ctx.softplus, ctx.chunk = softplus, chunk
        ctx.state_dtype = initial_state.dtype if initial_state is not None else None
        ctx.set_materialize_grads(False)  # an unused output (often the last state) gets None
        return y, last

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y: Tensor | None, grad_last: Tensor | None):
        need = dict(zip(_GRAD_NAMES, ctx.needs_input_grad, strict=False))
        grads = _scan_backward(*ctx.saved_tensors, ctx.softplus, ctx.chunk, grad_y, grad_last, need)
        if grads["initial_state"] is not None:
            grads["initial_state"] = grads["initial_state"].to(ctx.state_dtype)
        return (*(grads[name] for name in _GRAD_NAMES), None, None)


def selective_scan_legacy(
    u: Tensor,  # (batch, d_inner, L)
    delta: Tensor,  # (batch, d_inner, L)
    A: Tensor,  # (d_inner, d_state)
    B: Tensor,  # (batch, d_state, L)
    C: Tensor,  # (batch, d_state, L)
    D: Tensor | None = None,  # (d_inner,)
    z: Tensor | None = None,  # (batch, d_inner, L)
    delta_bias: Tensor | None = None,  # (d_inner,)
    delta_softplus: bool = False,
    initial_state: Tensor | None = None,  # (batch, d_inner, d_state)
    return_last_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """The legacy CPU scan (no input checks here: the benchmark makes valid inputs).

    Returns y (batch, d_inner, L) in u's dtype and, if asked, the last state (batch, d_inner,
    d_state) in fp32 (float64 for float64 inputs). The recurrence runs in fp32 for fp32, bf16 and
    fp16 inputs. Memory: O(batch · d_inner · T · d_state) for a chunk of T tokens, plus, when
    gradients are needed, the chunk-start states (batch, d_inner, ceil(L / T), d_state).
    """
    batch, dim, length = u.shape
    chunk = _chunk_len(batch, dim, A.shape[1], length)
    tensors = (u, delta, A, B, C, D, z, delta_bias, initial_state)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        y, last = _SelectiveScanCPU.apply(*tensors, delta_softplus, chunk)
    else:  # inference: nothing to save for a backward
        y, last, _ = _scan_forward(
            u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, chunk, False
        )
    return (y, last) if return_last_state else y


if __name__ == "__main__":
    main()
