"""Selective scan on the CPU: chunked over the sequence, memory flat in L, forward and backward.

The sequence is cut into chunks of T tokens. Per chunk the decays a_t = exp(Δ_t A) and inputs
x_t = Δ_t B_t u_t are built for the whole chunk at once in a time-major (T, batch, d_inner, d_state)
layout, so that the recurrence h_t = a_t h_{t-1} + x_t is one in-place op per token on a contiguous
slice, and the contraction with C is one op per chunk. The backward (KERNELS.md) recomputes a
chunk's states from its saved start state, runs the adjoint λ backwards with one in-place op per
token, then forms every gradient of the chunk vectorised. Nothing of size L · d_state is ever held:
buffers are (T, batch, d_inner, d_state) with T chosen so that one buffer holds about
CHUNK_ELEMENTS values, and autograd keeps only the inputs and the chunk-start states.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from seqmodels.kernels.scan.reference import check_scan_inputs, state_dtype

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


def selective_scan_cpu(
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
    """The selective scan of `selective_scan_ref`, chunked over L, with its own backward.

    Returns y (batch, d_inner, L) in u's dtype and, if asked, the last state (batch, d_inner,
    d_state) in fp32 (float64 for float64 inputs). The recurrence runs in fp32 for fp32, bf16 and
    fp16 inputs. Memory: O(batch · d_inner · T · d_state) for a chunk of T tokens, plus, when
    gradients are needed, the chunk-start states (batch, d_inner, ceil(L / T), d_state).
    """
    check_scan_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state)
    if u.device.type != "cpu":
        raise ValueError(f"selective_scan_cpu needs CPU tensors, got {u.device}")
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
