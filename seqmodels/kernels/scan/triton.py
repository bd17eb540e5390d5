"""Fused selective scan in Triton: forward, backward and the sequence-parallel scheme of
docs/selective_scan.md.

Layout. A program is one warp that owns BLOCK_D channels of one batch element and walks its tokens
in tiles of BLOCK_T. A tile is a (BLOCK_T, BLOCK_N, BLOCK_D) fp32 block: lanes cover the channels,
then the states (at d_state 16: 8 channels x 4 lanes, 4 states per thread), and the token axis sits
in each thread's registers. So the recurrence h_t = a_t h_{t-1} + x_t is an unrolled FMA chain per
thread (a scan across lanes would cost shuffles), the C contraction takes two shuffle rounds per 4
states, B_t and C_t are loaded once per tile for all BLOCK_D channels, and exp2(Δ A log2 e) is
computed once per (t, d, n). Triton gives a 3D block its default layout (lanes along the last
axis, then the next), which is why tokens come first and channels last. Written: y, the state at
every chunk start (CHUNK tokens, whole tiles; 1 byte per token and channel at d_state 16) and the
last state.

Parallelism. While batch x channel blocks keep the SMs busy, each program runs its whole sequence
(one segment). Otherwise the sequence is cut into segments run in parallel (the chunked form of
docs/selective_scan.md, in 3 steps): a local kernel gives each segment's end state from zero and
its ΣΔ (its decay is exp2(A2 ΣΔ)), and the main kernel folds the earlier segments into its start
state in its prologue, so the carry costs no extra launch, only the local kernel's second pass over
the exps. The backward mirrors this for the adjoint: the same local kernel and fold, REVERSE.

Backward. Per chunk, in reverse: recompute the chunk's tile start states from its saved start state
(into a per-program scratch, since registers cannot be indexed), then walk its tiles backwards:
recompute h, run λ_t = gy_t C_t + a_{t+1} λ_{t+1} backwards and form every gradient. dB and dC are
summed over the program's channels before one fp32 atomic add per tile; dA, dD and d(delta_bias)
are accumulated in registers over the segment and added once.

Optional inputs (D, z, delta_bias, the initial state, the gradient of the last state, the segment
carries) are passed as None when absent; `triton.heuristics` turns that into the HAS_* flags, so a
kernel is compiled without the code it does not need. tests/kernels/test_triton_compile.py
compiles every kernel ahead of time for sm_80 and sm_90 and reports its registers and spills.

The file reads top to bottom: autotune configs, jit helpers, kernels, launch helpers, the
autograd Function, and the public `selective_scan_triton`.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from seqmodels.kernels.scan.reference import ScanInputs, scan_arguments, selective_scan_ref
from seqmodels.kernels.triton_utils import (
    INTERPRET,
    LN2,
    LOG2E,
    check_device,
    given,
    load_f32,
    softplus,
)

MAX_D_STATE = 256
DTYPES = (torch.float32, torch.float16, torch.bfloat16)


# ---------------------------------------------------------------------------------------------
# Autotuning


def _configs(block_t: tuple[int, ...]) -> list[triton.Config]:
    """Tile heights to try; one warp per program, as the layout above needs (more warps would split
    the states). num_stages is left alone: Triton does not pipeline these loads."""
    if INTERPRET:
        return [triton.Config({"BLOCK_T": 4}, num_warps=1)]
    return [triton.Config({"BLOCK_T": t}, num_warps=1) for t in block_t]


def _fits(elements: int):
    """Drop tile heights that would give a thread more than `elements` fp32 values per live block
    (spills at d_state 256); keep the smallest if none fits."""

    def prune(configs: list[triton.Config], named_args: dict, **kwargs) -> list[triton.Config]:
        per_token = kwargs["BLOCK_N"] * kwargs["BLOCK_D"] // 32
        kept = [c for c in configs if c.kwargs["BLOCK_T"] * per_token <= elements]
        return kept or [min(configs, key=lambda c: c.kwargs["BLOCK_T"])]

    return {"early_config_prune": prune}


_KEY = ["D", "BLOCK_D", "BLOCK_N", "CHUNK"]  # tuned once per layer shape (and dtype), not per L
_GRADS = ["p_dB", "p_dC", "p_dA", "p_dD", "p_dbias"]  # accumulated with atomics: zeroed per trial
# the optional inputs of the forward and the backward kernels, as feature flags
_INPUT_FLAGS = {"HAS_D": given("p_D"), "HAS_Z": given("p_z"), "HAS_BIAS": given("p_bias")}


# ---------------------------------------------------------------------------------------------
# Helpers inlined into the kernels


@triton.jit
def _program(
    p_A2,
    p_bias,
    L,
    D,
    N,
    HAS_BIAS: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_T: tl.constexpr,
):
    """What every scan kernel starts with: its program ids (channel block i_d, segment i_s, batch
    element i_b), offsets and masks over channels (o_d), states (o_n) and a tile's tokens (o_t),
    the rows of (batch, D, ...) and (batch, N, L) tensors (o_bd, o_bn: int64, since batch 8 x 1536
    channels x 2^20 tokens passes 2^31), A2 (BN, BD) and the Δ bias (BD,)."""
    i_d, i_s, i_b = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    o_d = i_d * BLOCK_D + tl.arange(0, BLOCK_D)
    o_n = tl.arange(0, BLOCK_N)
    o_t = tl.arange(0, BLOCK_T)
    m_d, m_n = o_d < D, o_n < N
    m_nd = m_n[:, None] & m_d[None, :]
    o_bd = i_b * D + o_d
    o_bn = (i_b * N + o_n) * L
    b_A2 = tl.load(p_A2 + _nd(o_d, o_n, N), mask=m_nd, other=0.0)  # (BN, BD)
    b_bias = _per_channel(p_bias, o_d, m_d, HAS_BIAS, BLOCK_D)
    return i_d, i_s, i_b, o_d, o_n, o_t, m_d, m_n, m_nd, o_bd, o_bn, b_A2, b_bias


@triton.jit
def _per_channel(p, o_d, m_d, GIVEN: tl.constexpr, BLOCK_D: tl.constexpr):
    """The block (BD,) of a (D,) fp32 input, or zeros when it is absent."""
    b = tl.zeros([BLOCK_D], tl.float32)
    if GIVEN:
        b = tl.load(p + o_d, mask=m_d, other=0.0)
    return b


@triton.jit
def _delta(b_raw, b_bias, mask, SOFTPLUS: tl.constexpr):
    """(Δ, δ + bias) for a (BLOCK_T, BLOCK_D) tile; Δ is zero outside `mask`, so padded tokens and
    channels neither decay (a = 1) nor feed the state."""
    b_pre = b_raw + b_bias[None, :]
    b_dt = b_pre
    if SOFTPLUS:
        b_dt = softplus(b_pre)
    return tl.where(mask, b_dt, 0.0), b_pre


@triton.jit
def _nd(o_row, o_n, N):
    """Offsets (BN, BD) of the rows o_row of an (..., N) fp32 tensor (states, A). Declared
    non-contiguous on purpose: vectorized along N, these small tiles would get a layout unlike the
    register tile's, and the recurrence would pay a shared-memory round trip at every token."""
    return tl.max_contiguous(o_row[None, :] * N + o_n[:, None], [1, 1])


@triton.jit
def _rows(t, o_t, o_bd, o_bn, m_d, m_n, L):
    """Offsets and masks of the tile of tokens [t, t + BLOCK_T) in (batch, D, L) tensors
    (o_td, m_td: (BT, BD)) and in (batch, N, L) ones (o_tn, m_tn: (BT, BN))."""
    o_l = t + o_t
    m_l = o_l < L
    o_td = o_bd[None, :] * L + o_l[:, None]
    o_tn = o_bn[None, :] + o_l[:, None]
    return o_td, m_l[:, None] & m_d[None, :], o_tn, m_l[:, None] & m_n[None, :]


@triton.jit
def _tile(p_u, p_delta, p_B, o_td, m_td, o_tn, m_tn, b_A2, b_bias, SOFTPLUS: tl.constexpr):
    """Load the tile at offsets o_td, o_tn (from _rows): Δ, u (BT, BD), B (BT, BN) in fp32, and
    the discretised decay a = exp2(Δ A2) and input x = Δ B u (BT, BN, BD)."""
    b_u = load_f32(p_u, o_td, m_td)
    b_dt, b_pre = _delta(load_f32(p_delta, o_td, m_td), b_bias, m_td, SOFTPLUS)
    b_B = load_f32(p_B, o_tn, m_tn)
    b_a = tl.exp2(b_dt[:, None, :] * b_A2[None, :, :])
    b_x = (b_dt * b_u)[:, None, :] * b_B[:, :, None]
    return b_u, b_dt, b_pre, b_B, b_a, b_x


@triton.jit
def _y(b_hs, b_C, b_u, b_D, HAS_D: tl.constexpr):
    """y before the gate (BT, BD): C_t · h_t + D u_t."""
    b_y = tl.sum(b_hs * b_C[:, :, None], 1)
    if HAS_D:
        b_y += b_u * b_D[None, :]
    return b_y


@triton.jit
def _row(b_x, o_t, i: tl.constexpr):
    """Row i (token i) of a (BLOCK_T, BLOCK_N, BLOCK_D) tile. The token axis lives in registers,
    so this compiles to a register pick: the mask is a constant per register and x + -0.0 == x
    folds exactly (a scalar -0.0 literal loses its sign in Triton and leaves an add behind)."""
    return tl.sum(tl.where(o_t[:, None, None] == i, b_x, -tl.zeros_like(b_x)), 0)


@triton.jit
def _scan_tile(b_a, b_x, b_h, o_t, BLOCK_T: tl.constexpr):
    """h_t = a_t h_{t-1} + x_t over the tile from the state b_h (BN, BD) before it: returns all
    states (BT, BN, BD) and the last. Unrolled over the tile's tokens, one FMA per element: a
    tl.associative_scan along this in-register axis compiles to the same chain, but its
    reverse=True form (needed for λ) shuffles every register across lanes."""
    b_hs = b_x
    for i in tl.static_range(BLOCK_T):
        b_h = _row(b_a, o_t, i) * b_h + _row(b_x, o_t, i)
        b_hs = tl.where(o_t[:, None, None] == i, b_h[None, :, :], b_hs)
    return b_hs, b_h


@triton.jit
def _adjoint_tile(b_a, b_c, b_nu, o_t, BLOCK_T: tl.constexpr):
    """λ_t = c_t + a_{t+1} λ_{t+1} backwards over the tile, from ν = a λ just after it (BN, BD):
    returns λ (BT, BN, BD) and ν = a_0 λ_0 for the tile before."""
    b_lam = b_c
    for j in tl.static_range(BLOCK_T):
        b_l = _row(b_c, o_t, BLOCK_T - 1 - j) + b_nu
        b_lam = tl.where(o_t[:, None, None] == BLOCK_T - 1 - j, b_l[None, :, :], b_lam)
        b_nu = _row(b_a, o_t, BLOCK_T - 1 - j) * b_l
    return b_lam, b_nu


@triton.jit
def _carry(
    b_h, p_seg, p_seg_dsum, o_bd, o_n, m_d, m_nd, b_A2, i_s, n_seg, N, REVERSE: tl.constexpr
):
    """The state entering segment i_s, from b_h at the sequence's start carried across the
    segments before it: S_{s+1} = exp2(A2 ΣΔ_s) S_s + e_s, with e_s and ΣΔ_s from the local kernel.
    REVERSE: the adjoint entering from the right, from b_h at the sequence's end carried across
    the segments after it (ν_s = exp2(A2 ΣΔ_{s+1}) ν_{s+1} + ν_local_{s+1})."""
    n_fold = i_s
    if REVERSE:
        n_fold = n_seg - 1 - i_s
    for k in range(0, n_fold):
        s = k
        if REVERSE:
            s = n_seg - 1 - k
        o_seg = o_bd * n_seg + s
        b_dsum = tl.load(p_seg_dsum + o_seg, mask=m_d, other=0.0)
        b_e = tl.load(p_seg + _nd(o_seg, o_n, N), mask=m_nd, other=0.0)
        b_h = tl.exp2(b_A2 * b_dsum[None, :]) * b_h + b_e
    return b_h


# ---------------------------------------------------------------------------------------------
# Kernels


# REVERSE in the key: the forward's and the backward's step 1 are tuned apart
@triton.autotune(configs=_configs((4, 8)), key=[*_KEY, "REVERSE"], prune_configs_by=_fits(32))
@triton.heuristics({"HAS_Z": given("p_z"), "HAS_BIAS": given("p_bias")})
@triton.jit
def _scan_local_kernel(
    p_delta,  # (batch, D, L)
    p_v,  # (batch, D, L): u forward, dy REVERSE
    p_z,  # (batch, D, L) or None; REVERSE only (the gate of dy)
    p_BC,  # (batch, N, L): B forward, C REVERSE
    p_A2,  # (D, N) fp32: A log2(e)
    p_bias,  # (D,) or None
    p_seg,  # (batch, D, n_seg, N) fp32 out: the segment's local end state (REVERSE: adjoint)
    p_seg_dsum,  # (batch, D, n_seg) fp32 out: ΣΔ over the segment
    L,
    D,
    N,
    seg_len,
    n_seg,
    HAS_Z: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    REVERSE: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
    CHUNK: tl.constexpr,
    BLOCK_T: tl.constexpr,
):
    """Step 1, per segment from a zero boundary, without a scan (one exp per element and no
    division by a cumulative decay). Forward: the end state
    e = Σ_t exp2(A2 Σ_{s>t} Δ_s) Δ_t u_t B_t, walking the tiles backwards. REVERSE: the adjoint
    sent left ν = Σ_t exp2(A2 Σ_{s≤t} Δ_s) gy_t C_t, with gy = dy silu(z), walking them forwards
    (no h needed). Also stores the segment's ΣΔ."""
    i_d, i_s, i_b, o_d, o_n, o_t, m_d, m_n, m_nd, o_bd, o_bn, b_A2, b_bias = _program(
        p_A2, p_bias, L, D, N, HAS_BIAS, BLOCK_D, BLOCK_N, BLOCK_T
    )
    t0 = i_s * seg_len
    n_tiles = tl.cdiv(tl.minimum(t0 + seg_len, L) - t0, BLOCK_T)
    b_done = tl.zeros([BLOCK_D], tl.float32)  # ΣΔ over the segment's tiles already walked
    b_acc = tl.zeros([BLOCK_T, BLOCK_N, BLOCK_D], tl.float32)
    for k in range(0, n_tiles):
        if REVERSE:
            t = t0 + k * BLOCK_T
        else:
            t = t0 + (n_tiles - 1 - k) * BLOCK_T
        o_td, m_td, o_tn, m_tn = _rows(t, o_t, o_bd, o_bn, m_d, m_n, L)
        b_dt, _ = _delta(load_f32(p_delta, o_td, m_td), b_bias, m_td, SOFTPLUS)
        b_v = load_f32(p_v, o_td, m_td)
        b_BC = load_f32(p_BC, o_tn, m_tn)
        if REVERSE:
            if HAS_Z:
                b_z = load_f32(p_z, o_td, m_td)
                b_v *= b_z * tl.sigmoid(b_z)
            b_w = tl.cumsum(b_dt, 0) + b_done[None, :]  # Σ_{s≤t} Δ_s
        else:
            b_v = b_dt * b_v
            b_w = tl.cumsum(b_dt, 0, reverse=True) - b_dt + b_done[None, :]  # Σ_{s>t} Δ_s
        b_acc += tl.exp2(b_A2[None, :, :] * b_w[:, None, :]) * (b_v[:, None, :] * b_BC[:, :, None])
        b_done += tl.sum(b_dt, 0)
    o_seg = o_bd * n_seg + i_s
    tl.store(p_seg + _nd(o_seg, o_n, N), tl.sum(b_acc, 0), mask=m_nd)
    tl.store(p_seg_dsum + o_seg, b_done, mask=m_d)


@triton.autotune(configs=_configs((4, 8)), key=_KEY, prune_configs_by=_fits(32))
@triton.heuristics(
    {
        **_INPUT_FLAGS,
        "HAS_H0": given("p_h0"),
        "CARRY": given("p_seg_h"),
        "SAVE_STATES": given("p_states"),
    }
)
@triton.jit
def _scan_fwd_kernel(
    p_u,  # (batch, D, L)
    p_delta,  # (batch, D, L)
    p_z,  # (batch, D, L) or None
    p_B,  # (batch, N, L)
    p_C,  # (batch, N, L)
    p_A2,  # (D, N) fp32: A log2(e)
    p_D,  # (D,) fp32 or None
    p_bias,  # (D,) fp32 or None
    p_h0,  # (batch, D, N) fp32 or None
    p_seg_h,  # (batch, D, n_seg, N) from the local kernel, or None with one segment
    p_seg_dsum,  # (batch, D, n_seg) from the local kernel, or None with one segment
    p_y,  # (batch, D, L) out
    p_states,  # (batch, D, n_chunks, N) fp32 out: state at each chunk start; None: not saved
    p_last,  # (batch, D, N) fp32 out
    L,
    D,
    N,
    n_chunks,
    seg_len,
    n_seg,
    HAS_D: tl.constexpr,
    HAS_Z: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    HAS_H0: tl.constexpr,
    CARRY: tl.constexpr,
    SAVE_STATES: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
    CHUNK: tl.constexpr,
    BLOCK_T: tl.constexpr,
):
    """Steps 2 and 3: fold the earlier segments into this one's start state, then scan its tiles."""
    i_d, i_s, i_b, o_d, o_n, o_t, m_d, m_n, m_nd, o_bd, o_bn, b_A2, b_bias = _program(
        p_A2, p_bias, L, D, N, HAS_BIAS, BLOCK_D, BLOCK_N, BLOCK_T
    )
    o_nd = _nd(o_bd, o_n, N)  # (BN, BD) into (batch, D, N) tensors
    b_D = _per_channel(p_D, o_d, m_d, HAS_D, BLOCK_D)

    b_h = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    if HAS_H0:
        b_h = tl.load(p_h0 + o_nd, mask=m_nd, other=0.0)
    if CARRY:
        b_h = _carry(b_h, p_seg_h, p_seg_dsum, o_bd, o_n, m_d, m_nd, b_A2, i_s, n_seg, N, False)

    t0 = i_s * seg_len
    t1 = tl.minimum(t0 + seg_len, L)
    for t in range(t0, t1, BLOCK_T):
        if SAVE_STATES:
            if t % CHUNK == 0:
                tl.store(p_states + _nd(o_bd * n_chunks + t // CHUNK, o_n, N), b_h, mask=m_nd)
        o_td, m_td, o_tn, m_tn = _rows(t, o_t, o_bd, o_bn, m_d, m_n, L)
        b_u, b_dt, _, _, b_a, b_x = _tile(
            p_u, p_delta, p_B, o_td, m_td, o_tn, m_tn, b_A2, b_bias, SOFTPLUS
        )
        b_hs, b_h = _scan_tile(b_a, b_x, b_h, o_t, BLOCK_T)  # (BT, BN, BD), (BN, BD)
        b_y = _y(b_hs, load_f32(p_C, o_tn, m_tn), b_u, b_D, HAS_D)
        if HAS_Z:
            b_z = load_f32(p_z, o_td, m_td)
            b_y *= b_z * tl.sigmoid(b_z)
        tl.store(p_y + o_td, b_y.to(p_y.dtype.element_ty), mask=m_td)
    if t1 == L:
        tl.store(p_last + o_nd, b_h, mask=m_nd)


@triton.autotune(
    configs=_configs((2, 4)), key=_KEY, reset_to_zero=_GRADS, prune_configs_by=_fits(16)
)
@triton.heuristics(
    {
        **_INPUT_FLAGS,
        "HAS_DLAST": given("p_dlast"),
        "CARRY": given("p_seg_adj"),
        "HAS_DH0": given("p_dh0"),
    }
)
@triton.jit
def _scan_bwd_kernel(
    p_u,  # (batch, D, L)
    p_delta,  # (batch, D, L)
    p_z,  # (batch, D, L) or None
    p_B,  # (batch, N, L)
    p_C,  # (batch, N, L)
    p_A2,  # (D, N) fp32: A log2(e)
    p_D,  # (D,) fp32 or None
    p_bias,  # (D,) fp32 or None
    p_states,  # (batch, D, n_chunks, N) fp32 from the forward
    p_dy,  # (batch, D, L)
    p_dlast,  # (batch, D, N) fp32: gradient of the last state, or None
    p_seg_adj,  # (batch, D, n_seg, N) from the local kernel, or None with one segment
    p_seg_dsum,  # (batch, D, n_seg) from the local kernel, or None with one segment
    p_scratch,  # (programs, CHUNK // BLOCK_T, BLOCK_N, BLOCK_D) fp32: tile start states
    p_du,  # (batch, D, L) out
    p_ddelta,  # (batch, D, L) out
    p_dz,  # (batch, D, L) out, or None without z
    p_dB,  # (batch, N, L) fp32, accumulated
    p_dC,  # (batch, N, L) fp32, accumulated
    p_dA,  # (D, N) fp32, accumulated
    p_dD,  # (D,) fp32, accumulated, or None without D
    p_dbias,  # (D,) fp32, accumulated, or None without a bias
    p_dh0,  # (batch, D, N) fp32 out, or None when not needed
    L,
    D,
    N,
    n_chunks,
    seg_len,
    n_seg,
    HAS_D: tl.constexpr,
    HAS_Z: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    HAS_DLAST: tl.constexpr,
    CARRY: tl.constexpr,
    HAS_DH0: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
    CHUNK: tl.constexpr,
    BLOCK_T: tl.constexpr,
):
    """Backward steps 2 and 3: fold the later segments into the adjoint entering this one from the
    right; then, chunk by chunk backwards, recompute the chunk's tile start states from its saved
    start state and walk its tiles backwards, forming every gradient."""
    i_d, i_s, i_b, o_d, o_n, o_t, m_d, m_n, m_nd, o_bd, o_bn, b_A2, b_bias = _program(
        p_A2, p_bias, L, D, N, HAS_BIAS, BLOCK_D, BLOCK_N, BLOCK_T
    )
    o_nd = _nd(o_bd, o_n, N)
    b_A = b_A2 * LN2
    b_D = _per_channel(p_D, o_d, m_d, HAS_D, BLOCK_D)
    i_prog = (i_b * n_seg + i_s) * tl.num_programs(0) + i_d
    p_tiles = p_scratch + i_prog * (CHUNK // BLOCK_T * BLOCK_N * BLOCK_D)
    o_tile = _nd(tl.arange(0, BLOCK_D), o_n, BLOCK_N)

    # ν: the adjoint entering from the right, a_{t+1} λ_{t+1} just after the segment
    b_nu = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    if HAS_DLAST:
        b_nu = tl.load(p_dlast + o_nd, mask=m_nd, other=0.0)
    if CARRY:
        b_nu = _carry(b_nu, p_seg_adj, p_seg_dsum, o_bd, o_n, m_d, m_nd, b_A2, i_s, n_seg, N, True)

    b_dA = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    b_dD = tl.zeros([BLOCK_D], tl.float32)
    b_dbias = tl.zeros([BLOCK_D], tl.float32)
    c0 = i_s * (seg_len // CHUNK)
    c1 = tl.minimum(c0 + seg_len // CHUNK, n_chunks)
    for k in range(0, c1 - c0):
        c = c1 - 1 - k
        t0 = c * CHUNK
        n_tiles = tl.cdiv(tl.minimum(t0 + CHUNK, L) - t0, BLOCK_T)
        # the chunk's tile start states, from its saved start state (registers cannot be indexed)
        b_h = tl.load(p_states + _nd(o_bd * n_chunks + c, o_n, N), mask=m_nd)
        for j in range(0, n_tiles):
            tl.store(p_tiles + j * BLOCK_N * BLOCK_D + o_tile, b_h)
            o_td, m_td, o_tn, m_tn = _rows(t0 + j * BLOCK_T, o_t, o_bd, o_bn, m_d, m_n, L)
            _, _, _, _, b_a, b_x = _tile(
                p_u, p_delta, p_B, o_td, m_td, o_tn, m_tn, b_A2, b_bias, SOFTPLUS
            )
            _, b_h = _scan_tile(b_a, b_x, b_h, o_t, BLOCK_T)
        tl.debug_barrier()
        for j in range(0, n_tiles):
            tile = n_tiles - 1 - j
            o_td, m_td, o_tn, m_tn = _rows(t0 + tile * BLOCK_T, o_t, o_bd, o_bn, m_d, m_n, L)
            b_h = tl.load(p_tiles + tile * BLOCK_N * BLOCK_D + o_tile)
            b_u, b_dt, b_pre, b_B, b_a, b_x = _tile(
                p_u, p_delta, p_B, o_td, m_td, o_tn, m_tn, b_A2, b_bias, SOFTPLUS
            )
            b_hs, _ = _scan_tile(b_a, b_x, b_h, o_t, BLOCK_T)  # (BT, BN, BD)
            b_C = load_f32(p_C, o_tn, m_tn)
            b_dy = load_f32(p_dy, o_td, m_td)

            b_gy = b_dy
            if HAS_Z:
                b_y = _y(b_hs, b_C, b_u, b_D, HAS_D)  # recomputed for dz
                b_z = load_f32(p_z, o_td, m_td)
                b_sig = tl.sigmoid(b_z)
                b_dz = b_dy * b_y * b_sig * (1.0 + b_z * (1.0 - b_sig))
                tl.store(p_dz + o_td, b_dz.to(p_dz.dtype.element_ty), mask=m_td)
                b_gy = b_dy * b_z * b_sig

            b_lam, b_nu = _adjoint_tile(b_a, b_gy[:, None, :] * b_C[:, :, None], b_nu, o_t, BLOCK_T)

            b_lh = b_lam * (b_hs - b_x)  # λ_t a_t h_{t-1}, without shifting h by a token
            b_lB = tl.sum(b_lam * b_B[:, :, None], 1)  # Σ_n λ_t B_t (BT, BD)
            b_du = b_dt * b_lB
            if HAS_D:
                b_du += b_gy * b_D[None, :]
                b_dD += tl.sum(b_gy * b_u, 0)
            b_ddt = tl.sum(b_lh * b_A[None, :, :], 1) + b_u * b_lB
            b_dA += tl.sum(b_lh * b_dt[:, None, :], 0)
            if SOFTPLUS:
                b_ddt *= tl.sigmoid(b_pre)
            b_ddt = tl.where(m_td, b_ddt, 0.0)
            if HAS_BIAS:
                b_dbias += tl.sum(b_ddt, 0)
            tl.store(p_du + o_td, b_du.to(p_du.dtype.element_ty), mask=m_td)
            tl.store(p_ddelta + o_td, b_ddt.to(p_ddelta.dtype.element_ty), mask=m_td)
            # summed over this program's channels first: one atomic add per block, not per channel
            tl.atomic_add(p_dB + o_tn, tl.sum(b_lam * (b_dt * b_u)[:, None, :], 2), mask=m_tn)
            tl.atomic_add(p_dC + o_tn, tl.sum(b_hs * b_gy[:, None, :], 2), mask=m_tn)
        tl.debug_barrier()  # the next chunk overwrites the tile start states

    if HAS_DH0:
        if i_s == 0:
            tl.store(p_dh0 + o_nd, b_nu, mask=m_nd)  # a_0 λ_0
    tl.atomic_add(p_dA + _nd(o_d, o_n, N), b_dA, mask=m_nd)
    if HAS_D:
        tl.atomic_add(p_dD + o_d, b_dD, mask=m_d)
    if HAS_BIAS:
        tl.atomic_add(p_dbias + o_d, b_dbias, mask=m_d)


# ---------------------------------------------------------------------------------------------
# Launch helpers


def _blocks(d_state: int, chunk_size: int | None) -> tuple[int, int, int]:
    """(BLOCK_D, BLOCK_N, CHUNK). Lanes go to channels, then states: 128 // BLOCK_N channels leave
    4 states per thread (16 at most), so the C contraction needs two shuffles per 4 elements and
    the token axis stays in registers. The chunk (state saved for the backward) costs
    4 BLOCK_N / CHUNK bytes per token and channel: 1 byte up to d_state 64."""
    block_n = triton.next_power_of_2(d_state)
    block_d = max(1, min(32, 128 // block_n))
    chunk = chunk_size or min(256, max(64, 4 * block_n))
    return block_d, block_n, chunk


def _seg_len(
    programs: int, n_chunks: int, chunk: int, device: torch.device, segments: int | None
) -> int:
    """Tokens per segment (a whole number of chunks). One segment, a sequential pass per program,
    while batch x channel blocks give each SM 8 one-warp programs: the 3-step scheme pays a second
    pass over the exps, which bound the scan, so it only wins when SMs would idle (batch 1, long
    sequences)."""
    if segments is None:
        segments = 1
        if device.type == "cuda":
            sms = torch.cuda.get_device_properties(device).multi_processor_count
            if programs < 8 * sms:
                segments = min(triton.cdiv(8 * sms, programs), n_chunks // 2)
    return triton.cdiv(n_chunks, max(1, min(segments, n_chunks))) * chunk


class _Plan(NamedTuple):
    """How a scan of one shape is launched, the same for its forward and its backward."""

    block_d: int
    block_n: int
    chunk: int  # tokens between saved states
    n_chunks: int
    seg_len: int  # tokens per segment, a whole number of chunks
    n_seg: int  # segments run in parallel (1: a single pass per program)
    grid: tuple[int, int, int]  # (channel blocks, segments, batch)

    @property
    def meta(self) -> dict[str, int]:
        return {"BLOCK_D": self.block_d, "BLOCK_N": self.block_n, "CHUNK": self.chunk}


def _plan(u: Tensor, d_state: int, chunk_size: int | None, segments: int | None) -> _Plan:
    batch, dim, length = u.shape
    block_d, block_n, chunk = _blocks(d_state, chunk_size)
    n_chunks = triton.cdiv(length, chunk)
    d_blocks = triton.cdiv(dim, block_d)
    seg_len = _seg_len(batch * d_blocks, n_chunks, chunk, u.device, segments)
    n_seg = triton.cdiv(length, seg_len)
    return _Plan(block_d, block_n, chunk, n_chunks, seg_len, n_seg, (d_blocks, n_seg, batch))


def _prepare(x: ScanInputs) -> ScanInputs:
    """The inputs as the kernels read them: contiguous, D, delta_bias and the initial state in
    fp32, and A as A2 = A log2(e) in fp32 (exp(Δ A) = exp2(Δ A2))."""
    u, delta, A, B, C, D, z, delta_bias, h0 = (t.contiguous() if t is not None else None for t in x)
    D, delta_bias, h0 = (t.float() if t is not None else None for t in (D, delta_bias, h0))
    return ScanInputs(u, delta, (A.float() * LOG2E.value).contiguous(), B, C, D, z, delta_bias, h0)


def _local(
    plan: _Plan,
    delta: Tensor,
    v: Tensor,
    z: Tensor | None,
    BC: Tensor,
    A2: Tensor,
    delta_bias: Tensor | None,
    delta_softplus: bool,
    reverse: bool,
) -> tuple[Tensor | None, Tensor | None]:
    """Step 1 with more than one segment: each segment's local end state (REVERSE: adjoint) and
    its ΣΔ; (None, None) with one."""
    if plan.n_seg == 1:
        return None, None
    batch, dim, length = delta.shape
    d_state = A2.shape[1]
    seg = torch.empty(batch, dim, plan.n_seg, d_state, device=delta.device, dtype=torch.float32)
    seg_dsum = torch.empty(batch, dim, plan.n_seg, device=delta.device, dtype=torch.float32)
    _scan_local_kernel[plan.grid](
        delta, v, z, BC, A2, delta_bias, seg, seg_dsum, length, dim, d_state, plan.seg_len,
        plan.n_seg, SOFTPLUS=delta_softplus, REVERSE=reverse, **plan.meta,
    )  # fmt: skip
    return seg, seg_dsum


def _scan_fwd(
    x: ScanInputs, delta_softplus: bool, save_states: bool, plan: _Plan
) -> tuple[Tensor, Tensor, Tensor | None]:
    """y (u's dtype), the last state and, if asked, the chunk start states (all fp32 states), from
    prepared inputs."""
    u, delta, A2, B, C, D, z, delta_bias, initial_state = x
    batch, dim, length = u.shape
    d_state = A2.shape[1]
    f32, dev = torch.float32, u.device
    y = torch.empty_like(u)
    last = torch.empty(batch, dim, d_state, device=dev, dtype=f32)
    states = None
    if save_states:
        states = torch.empty(batch, dim, plan.n_chunks, d_state, device=dev, dtype=f32)
    seg_h, seg_dsum = _local(plan, delta, u, None, B, A2, delta_bias, delta_softplus, False)
    _scan_fwd_kernel[plan.grid](
        u, delta, z, B, C, A2, D, delta_bias, initial_state, seg_h, seg_dsum, y, states, last,
        length, dim, d_state, plan.n_chunks, plan.seg_len, plan.n_seg,
        SOFTPLUS=delta_softplus, **plan.meta,
    )  # fmt: skip
    return y, last, states


def _scan_bwd(
    x: ScanInputs,
    dy: Tensor,
    dlast: Tensor | None,
    delta_softplus: bool,
    states: Tensor,
    need_dh0: bool,
    plan: _Plan,
) -> ScanInputs:
    """Every gradient from prepared inputs (dA, dB, dC still fp32, as accumulated); dh0 only if
    `need_dh0`."""
    u, delta, A2, B, C, D, z, delta_bias, _ = x
    batch, dim, length = u.shape
    d_state = A2.shape[1]
    f32, dev = torch.float32, u.device
    du, ddelta = torch.empty_like(u), torch.empty_like(delta)
    dz = torch.empty_like(z) if z is not None else None
    dB = torch.zeros(batch, d_state, length, device=dev, dtype=f32)
    dC = torch.zeros(batch, d_state, length, device=dev, dtype=f32)
    dA = torch.zeros(dim, d_state, device=dev, dtype=f32)
    dD = torch.zeros(dim, device=dev, dtype=f32) if D is not None else None
    dbias = torch.zeros(dim, device=dev, dtype=f32) if delta_bias is not None else None
    dh0 = torch.empty(batch, dim, d_state, device=dev, dtype=f32) if need_dh0 else None
    # per program, the tile start states of the chunk in flight (room for any BLOCK_T)
    programs = plan.grid[0] * plan.grid[1] * plan.grid[2]
    scratch = torch.empty(
        programs * plan.chunk * plan.block_n * plan.block_d, device=dev, dtype=f32
    )
    seg_adj, seg_dsum = _local(plan, delta, dy, z, C, A2, delta_bias, delta_softplus, True)
    _scan_bwd_kernel[plan.grid](
        u, delta, z, B, C, A2, D, delta_bias, states, dy, dlast, seg_adj, seg_dsum, scratch,
        du, ddelta, dz, dB, dC, dA, dD, dbias, dh0,
        length, dim, d_state, plan.n_chunks, plan.seg_len, plan.n_seg,
        SOFTPLUS=delta_softplus, **plan.meta,
    )  # fmt: skip
    return ScanInputs(du, ddelta, dA, dB, dC, dD, dz, dbias, dh0)


# ---------------------------------------------------------------------------------------------
# Autograd

_OPTIONS = 3  # _SelectiveScanFn.forward's arguments before the tensors: softplus, the plan's two


class _SelectiveScanFn(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx,
        delta_softplus: bool,
        chunk_size: int | None,
        segments: int | None,
        *tensors: Tensor | None,  # ScanInputs' fields
    ) -> tuple[Tensor, Tensor]:
        given = ScanInputs(*tensors)
        x = _prepare(given)
        plan = _plan(x.u, x.A.shape[1], chunk_size, segments)
        save = any(ctx.needs_input_grad)
        y, last, states = _scan_fwd(x, delta_softplus, save, plan)
        if save:
            ctx.save_for_backward(*x[:-1], states)  # all but the initial state
        ctx.delta_softplus, ctx.plan, ctx.A_dtype = delta_softplus, plan, given.A.dtype
        ctx.set_materialize_grads(False)
        return y, last

    @staticmethod
    def backward(ctx, dy: Tensor | None, dlast: Tensor | None) -> tuple[Tensor | None, ...]:
        *saved, states = ctx.saved_tensors
        x = ScanInputs(*saved)
        need = dict(zip(ScanInputs._fields, ctx.needs_input_grad[_OPTIONS:], strict=True))
        dy = torch.zeros_like(x.u) if dy is None else dy.contiguous()
        dlast = dlast.float().contiguous() if dlast is not None else None
        grads = _scan_bwd(x, dy, dlast, ctx.delta_softplus, states, need["initial_state"], ctx.plan)
        grads = grads._replace(
            A=grads.A.to(ctx.A_dtype), B=grads.B.to(x.B.dtype), C=grads.C.to(x.C.dtype)
        )
        kept = (
            g if need[name] else None for name, g in zip(ScanInputs._fields, grads, strict=True)
        )
        return (None,) * _OPTIONS + tuple(kept)


# ---------------------------------------------------------------------------------------------
# The public function


@functools.wraps(selective_scan_ref, assigned=())  # the reference's signature: one contract
def selective_scan_triton(
    *args: Any, chunk_size: int | None = None, segments: int | None = None, **kwargs: Any
) -> Tensor | tuple[Tensor, Tensor]:
    """Fused selective scan; same contract as `selective_scan_ref` (docs/selective_scan.md has the
    math): Δ = softplus(delta + delta_bias) (softplus if `delta_softplus`),
    h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t, y_t = C_t · h_t + D u_t, times silu(z_t).

    Shapes: u, delta, z (batch, d_inner, L); A (d_inner, d_state); B, C (batch, d_state, L);
    D, delta_bias (d_inner,); initial_state (batch, d_inner, d_state). u, delta, z, B, C in fp32,
    fp16 or bf16 (computed in fp32); d_state up to 256. Returns y (batch, d_inner, L) in u's dtype
    and, with `return_last_state`, the fp32 state after the last token (batch, d_inner, d_state).
    Differentiable in every tensor argument. Needs CUDA tensors, or CPU tensors under
    TRITON_INTERPRET=1 (fp32 only; set before triton is first imported).

    The plan is automatic; tests and benchmarks may force it: `chunk_size` tokens between the
    states saved for the backward (a power of two, at least 8), `segments` sequence-parallel
    segments (1 = a single pass per program).

    Raises ValueError on shapes that break the contract, other dtypes, d_state over 256, a bad
    plan, or tensors the kernels cannot reach.
    """
    x, delta_softplus, return_last_state = scan_arguments(args, kwargs)
    if x.u.dtype not in DTYPES:
        raise ValueError(f"u must be float32, float16 or bfloat16, got {x.u.dtype}")
    if x.A.shape[1] > MAX_D_STATE:
        raise ValueError(f"d_state must be at most {MAX_D_STATE}, got {x.A.shape[1]}")
    if chunk_size is not None and (chunk_size < 8 or chunk_size & (chunk_size - 1)):
        raise ValueError(f"chunk_size must be a power of two, at least 8, got {chunk_size}")
    if segments is not None and segments < 1:
        raise ValueError(f"segments must be at least 1, got {segments}")
    check_device(x.u, "the Triton scan")
    if x.u.numel() == 0:  # nothing to launch (L, batch or d_inner is 0)
        return selective_scan_ref(*x[:-1], delta_softplus, x.initial_state, return_last_state)
    y, last = _SelectiveScanFn.apply(delta_softplus, chunk_size, segments, *x)
    return (y, last) if return_last_state else y
