"""Selective scan on the CPU: compiled loops over a chunk, memory flat in L, forward and backward.

The math (the recurrence, the adjoint λ and every gradient) is in docs/selective_scan.md.

Design. The work is batch · d_inner · L · d_state state updates, each an exp, a multiply-add and
its share of the contraction with C. The old path (benchmarks/scan_cpu.py keeps it as
`legacy`) built a (T, batch, d_inner, d_state) buffer of decays with one vectorised torch exp
per chunk, then ran the recurrence with one in-place torch op per token: every state value went
through memory several times and every token paid a Python-level op. Here the whole recurrence
of a chunk is one compiled loop (numba, _cpu_numba.py) per (batch, channel): the state lives in
a small local array, and the exp, the update, y's contraction with C and, in the backward, the
adjoint and every gradient term are fused into the same pass over the state, SIMD across the
state dimension. The exp is computed inside the loop by a polynomial in fp32 (vectorised with
the loop; precomputing decays with torch's exp and reading them back cost more than computing
them in place). The softplus of δ stays a torch op on (batch, d_inner, T) chunk buffers; the
backward's per-token work (silu and sigmoid of z, the softplus gradient, du, ∂δ, ∂z and the
sums for dD and the bias) runs in the compiled loop too, after a row's state passes: as torch
ops it was two dozen passes over the chunk buffers and half the backward's time.

Chunks of T tokens (one per-token buffer holds about CHUNK_ELEMENTS values) bound the memory: the
forward keeps the state and a few (batch, d_inner, T) buffers; with gradients it saves the
chunk-start states (batch, d_inner, ceil(L / T), d_state) and the backward recomputes a chunk's
states from them, keeping only one (batch, channel) row's T states and decays at a time. Nothing
of size L · d_state is held. The sums over channels in dB and dC (and over batch in dA) go to
per-thread partials, so threads (numba's, SEQMODELS_SCAN_THREADS of them; one by default) never
write the same value.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from seqmodels.kernels.scan.reference import (
    ScanInputs,
    scan_arguments,
    selective_scan_ref,
    state_dtype,
)

# Values in one (batch, d_inner, T) per-token chunk buffer (1 MiB in fp32): large enough that the
# per-chunk torch ops and kernel launch are amortised, small enough to stay in cache and keep
# memory flat in L.
CHUNK_ELEMENTS = 2**18
# A floor on T for very wide inputs (batch · d_inner above CHUNK_ELEMENTS / 16).
MIN_CHUNK = 16
# d_state is padded to a multiple of this (the compiled loops' SIMD width over the state).
GROUP = 16

LOG2E = math.log2(math.e)


def _chunk_len(batch: int, dim: int, n: int, length: int) -> int:
    """Tokens per chunk: as many as fit in CHUNK_ELEMENTS, at least MIN_CHUNK, at most L."""
    return max(1, min(length, max(MIN_CHUNK, CHUNK_ELEMENTS // (batch * dim))))


def _threads() -> int:
    """Threads for the compiled loops: 1 unless SEQMODELS_SCAN_THREADS asks for more.

    Not torch's setting: on a shared 2-core machine the parallel build (numba's OpenMP threads
    beside torch's) ran 3-10x slower than one thread (BENCHMARKS.md), so it is opt-in.
    """
    import numba

    asked = int(os.environ.get("SEQMODELS_SCAN_THREADS", "1") or 1)
    return max(1, min(asked, numba.config.NUMBA_NUM_THREADS))


def _kernel(name: str, threads: int):
    """The compiled loop: the serial build for one thread, else the parallel one on `threads`.

    One thread never starts numba's threading layer: its OpenMP pool spinning beside torch's
    slowed both down on a loaded machine.
    """
    from seqmodels.kernels.scan import _cpu_numba

    if threads > 1:
        import numba

        numba.set_num_threads(threads)
    return _cpu_numba.kernel(name, parallel=threads > 1)


def _np(t: Tensor):
    """A numpy view of a contiguous tensor (the compiled loops index them as C arrays)."""
    assert t.is_contiguous()
    return t.detach().numpy()


def _grouped(n: int) -> tuple[int, int]:
    """(groups, padded d_state)."""
    groups = -(-n // GROUP)
    return groups, groups * GROUP


def _pad_state(x: Tensor, n_pad: int) -> Tensor:
    """(..., d_state) → (..., d_state padded with zeros)."""
    return F.pad(x, (0, n_pad - x.shape[-1])) if n_pad != x.shape[-1] else x


class _Chunk(NamedTuple):
    """Tokens s..e of the inputs, (batch, d_inner, T) and (batch, groups, T, GROUP)."""

    dt: Tensor  # Δ
    dt_raw: Tensor | None  # δ + bias before the softplus, if there is one
    u: Tensor
    B: Tensor
    C: Tensor


class _Loader:
    """Reads chunks of the inputs into contiguous buffers reused by every chunk of one call."""

    def __init__(self, u, delta, B, C, delta_bias, softplus: bool, f: torch.dtype):
        self.groups, self.n_pad = _grouped(B.shape[1])
        self.u_in, self.delta, self.B_in, self.C_in = u, delta, B, C
        self.bias = delta_bias.to(f)[:, None] if delta_bias is not None else None
        self.softplus, self.f = softplus, f
        self.T = -1

    def _allocate(self, T: int) -> None:
        batch, dim, _ = self.u_in.shape
        f, self.T = self.f, T
        self.raw = torch.empty(batch, dim, T, dtype=f)
        self.dt = torch.empty(batch, dim, T, dtype=f) if self.softplus else self.raw
        self.u = torch.empty(batch, dim, T, dtype=f)
        # zeros: the padding of d_state stays zero (decay 1, input 0, no contribution to y)
        self.B = torch.zeros(batch, self.groups, T, GROUP, dtype=f)
        self.C = torch.zeros(batch, self.groups, T, GROUP, dtype=f)

    def _state_major(self, x: Tensor, out: Tensor, s: int, e: int) -> Tensor:
        """B or C (batch, d_state, L), tokens s..e → out (batch, groups, T, GROUP)."""
        piece = _pad_state(x[:, :, s:e].transpose(1, 2), self.n_pad)  # (batch, T, n_pad)
        return out.copy_(piece.unflatten(2, (self.groups, GROUP)).transpose(1, 2))

    def load(self, s: int, e: int) -> _Chunk:
        """Tokens s..e; Δ gets the bias and the softplus here."""
        if e - s != self.T:  # the first chunk, or the last, shorter one
            self._allocate(e - s)
        if self.bias is not None:
            torch.add(self.delta[:, :, s:e], self.bias, out=self.raw)
        else:
            self.raw.copy_(self.delta[:, :, s:e])
        if self.softplus:
            torch._C._nn.softplus(self.raw, 1, 20, out=self.dt)
        self.u.copy_(self.u_in[:, :, s:e])
        B = self._state_major(self.B_in, self.B, s, e)
        C = self._state_major(self.C_in, self.C, s, e)
        return _Chunk(self.dt, self.raw if self.softplus else None, self.u, B, C)


class _Params(NamedTuple):
    """What the forward and the backward both derive from the inputs."""

    batch: int
    dim: int
    length: int
    n: int  # d_state
    f: torch.dtype  # the state's dtype
    groups: int
    n_pad: int  # d_state padded to whole groups
    Af: Tensor  # A, padded and grouped: (d_inner, groups, GROUP)
    A2: Tensor  # A · log2(e), the same way
    Df: Tensor  # D in f, or an empty array without D


def _params(x: ScanInputs) -> _Params:
    batch, dim, length = x.u.shape
    n = x.A.shape[1]
    f = state_dtype(x.u)
    groups, n_pad = _grouped(n)
    Af = _pad_state(x.A.to(f), n_pad).unflatten(1, (-1, GROUP)).contiguous()
    Df = x.D.to(f).contiguous() if x.D is not None else torch.zeros(0, dtype=f)
    return _Params(batch, dim, length, n, f, groups, n_pad, Af, (Af * LOG2E).contiguous(), Df)


def _state(p: _Params, value: Tensor | None) -> Tensor:
    """A grouped state (batch, d_inner, groups, GROUP): zero, or `value` (batch, d_inner,
    d_state) padded."""
    state = torch.zeros(p.batch, p.dim, p.groups, GROUP, dtype=p.f)
    if value is not None:
        _unpadded(state, p).copy_(value)
    return state


def _unpadded(state: Tensor, p: _Params) -> Tensor:
    """The (batch, d_inner, d_state) view of a grouped state."""
    return state.view(p.batch, p.dim, p.n_pad)[..., : p.n]


@torch.autocast("cpu", enabled=False)  # the state and its contractions stay in fp32
def _scan_forward(
    x: ScanInputs, softplus: bool, chunk: int, keep_chunk_states: bool
) -> tuple[Tensor, Tensor, Tensor | None]:
    """y (u's dtype), the last state and, if asked, the chunk-start states (b, d, n_chunks, n)."""
    u, delta, _, B, C, D, z, delta_bias, initial_state = x
    p = _params(x)
    batch, dim, length, n, f = p.batch, p.dim, p.length, p.n, p.f
    state = _state(p, initial_state)
    n_chunks = -(-length // chunk) if length else 0
    starts = torch.empty(batch, dim, n_chunks, n, dtype=f) if keep_chunk_states else None
    y = torch.empty_like(u)
    if length == 0:
        return y, _unpadded(state, p).clone(), starts
    threads = _threads()
    forward = _kernel("forward", threads)
    loader = _Loader(u, delta, B, C, delta_bias, softplus, f)
    gate = (
        torch.empty(batch, dim, chunk, dtype=f) if z is not None else torch.zeros(0, 0, 0, dtype=f)
    )
    yc = torch.empty(batch, dim, chunk, dtype=f)
    state_np, A2_np, D_np = _np(state), _np(p.A2), _np(p.Df)
    for c, s in enumerate(range(0, length, chunk)):
        e = min(s + chunk, length)
        T = e - s
        if starts is not None:
            starts[:, :, c].copy_(_unpadded(state, p))
        ch = loader.load(s, e)
        if T != yc.shape[-1]:
            yc = torch.empty(batch, dim, T, dtype=f)
            if z is not None:
                gate = torch.empty(batch, dim, T, dtype=f)
        if z is not None:
            F.silu(gate.copy_(z[:, :, s:e]), inplace=True)
        forward(
            _np(ch.dt),
            _np(ch.u),
            _np(gate),
            D_np,
            _np(ch.B),
            _np(ch.C),
            A2_np,
            state_np,
            _np(yc),
            z is not None,
            D is not None,
        )
        y[:, :, s:e].copy_(yc)
    return y, _unpadded(state, p).clone(), starts


@torch.autocast("cpu", enabled=False)
def _scan_backward(
    x: ScanInputs,
    starts: Tensor,  # (batch, d_inner, n_chunks, d_state)
    softplus: bool,
    chunk: int,
    grad_y: Tensor | None,  # (batch, d_inner, L)
    grad_last: Tensor | None,  # (batch, d_inner, d_state)
    need: dict[str, bool],
) -> ScanInputs:
    """Gradients of the inputs named in `need` that are True (None for the others), chunk by
    chunk from the end.

    The compiled loop computes every per-token gradient of a chunk into (batch, d_inner, T)
    buffers; here they are only copied out (in the inputs' dtypes) and summed over the batch.
    """
    u, delta, A, B, C, D, z, delta_bias, _ = x
    p = _params(x)
    batch, dim, length, n, f, groups = p.batch, p.dim, p.length, p.n, p.f, p.groups
    none = torch.zeros(0, 0, 0, dtype=f)  # stands for an absent per-token input or output
    grads = {name: torch.empty_like(t) for name, t in (("u", u), ("delta", delta), ("B", B),
             ("C", C), ("z", z)) if need[name]}  # fmt: skip
    dD_sum = torch.zeros(dim, dtype=f)
    dbias_sum = torch.zeros(dim, dtype=f)
    carry = _state(p, grad_last)  # a_{t+1} λ_{t+1} at a chunk's end
    P = min(_threads(), batch * dim)
    dA_part = torch.zeros(P, dim, groups, GROUP, dtype=torch.float64)
    if length:
        backward = _kernel("backward", P)
        loader = _Loader(u, delta, B, C, delta_bias, softplus, f)
    start = _state(p, None)
    bufs: dict[int, tuple[Tensor, ...]] = {}  # chunk buffers by T (the last chunk is shorter)
    for c in reversed(range(starts.shape[2])):
        s, e = c * chunk, min((c + 1) * chunk, length)
        T = e - s
        if T not in bufs:
            tok = [torch.empty(batch, dim, T, dtype=f) for _ in range(5)]
            if z is None:
                tok[1] = tok[4] = none
            parts = [torch.empty(P, batch, groups, T, GROUP, dtype=f) for _ in range(2)]
            rows = [torch.empty(P, T, GROUP, dtype=f) for _ in range(2)]  # h_{t-1}, a_t of a row
            sums = [torch.empty(batch, dim, dtype=f) for _ in range(2)]
            bufs[T] = (*tok, *parts, *rows, *sums)
        g, zc, du, ddt, dz, dB_part, dC_part, Hs, As, dD_rows, dbias_rows = bufs[T]
        ch = loader.load(s, e)
        _unpadded(start, p).copy_(starts[:, :, c])
        g.copy_(grad_y[:, :, s:e]) if grad_y is not None else g.zero_()
        if z is not None:
            zc.copy_(z[:, :, s:e])
        raw = ch.dt_raw if softplus else none
        arrays = (ch.dt, raw, ch.u, g, zc, p.Df, ch.B, ch.C, p.A2, p.Af, start, carry, du, ddt, dz,
                  dD_rows, dbias_rows, dA_part, dB_part, dC_part, Hs, As)  # fmt: skip
        backward(*map(_np, arrays), z is not None, D is not None, softplus)
        for name, part in (("u", du), ("delta", ddt), ("z", dz)):
            if name in grads:
                grads[name][:, :, s:e].copy_(part)
        for name, part in (("B", dB_part), ("C", dC_part)):
            if name in grads:
                part = part.sum(0) if P > 1 else part[0]  # (batch, groups, T, GROUP)
                grads[name][:, :, s:e].copy_(part.permute(0, 1, 3, 2).flatten(1, 2)[:, :n])
        dD_sum += dD_rows.sum(0)
        dbias_sum += dbias_rows.sum(0)

    dA = dA_part.sum(0).flatten(1)[:, :n]
    return ScanInputs(**{
        **dict.fromkeys(ScanInputs._fields),
        **grads,
        "A": dA.to(A.dtype) if need["A"] else None,
        "D": dD_sum.to(D.dtype) if need["D"] else None,
        "delta_bias": dbias_sum.to(delta_bias.dtype) if need["delta_bias"] else None,
        # ∂h_{-1} = a_0 λ_0
        "initial_state": _unpadded(carry, p).clone() if need["initial_state"] else None,
    })  # fmt: skip


class _SelectiveScanCPU(torch.autograd.Function):
    """Saves the inputs and the chunk-start states; the backward recomputes each chunk."""

    @staticmethod
    def forward(ctx, softplus: bool, chunk: int, *tensors: Tensor | None) -> tuple[Tensor, Tensor]:
        x = ScanInputs(*tensors)
        y, last, starts = _scan_forward(x, softplus, chunk, True)
        ctx.save_for_backward(*x[:-1], starts)  # all but the initial state
        ctx.softplus, ctx.chunk = softplus, chunk
        ctx.state_dtype = x.initial_state.dtype if x.initial_state is not None else None
        ctx.set_materialize_grads(False)  # an unused output (often the last state) gets None
        return y, last

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y: Tensor | None, grad_last: Tensor | None):
        *saved, starts = ctx.saved_tensors
        need = dict(zip(ScanInputs._fields, ctx.needs_input_grad[2:], strict=True))
        x = ScanInputs(*saved)
        grads = _scan_backward(x, starts, ctx.softplus, ctx.chunk, grad_y, grad_last, need)
        if grads.initial_state is not None:
            grads = grads._replace(initial_state=grads.initial_state.to(ctx.state_dtype))
        return (None, None, *grads)


@functools.wraps(selective_scan_ref, assigned=())  # the reference's signature: one contract
def selective_scan_cpu(*args: Any, **kwargs: Any) -> Tensor | tuple[Tensor, Tensor]:
    """The selective scan of `selective_scan_ref`, chunked over L, with its own backward.

    Returns y (batch, d_inner, L) in u's dtype and, if asked, the last state (batch, d_inner,
    d_state) in fp32 (float64 for float64 inputs). The recurrence runs in fp32 for fp32, bf16 and
    fp16 inputs. Memory: O(batch · d_inner · T · d_state) for a chunk of T tokens, plus, when
    gradients are needed, the chunk-start states (batch, d_inner, ceil(L / T), d_state).
    """
    x, delta_softplus, return_last_state = scan_arguments(args, kwargs)
    if x.u.device.type != "cpu":
        raise ValueError(f"selective_scan_cpu needs CPU tensors, got {x.u.device}")
    batch, dim, length = x.u.shape
    chunk = _chunk_len(batch, dim, x.A.shape[1], length)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in x):
        y, last = _SelectiveScanCPU.apply(delta_softplus, chunk, *x)
    else:  # inference: nothing to save for a backward
        y, last, _ = _scan_forward(x, delta_softplus, chunk, False)
    return (y, last) if return_last_state else y
