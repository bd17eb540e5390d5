"""Compiled loops of the CPU selective scan (numba); imported on the first call, never at import.

Layout: per-token arrays are (batch, d_inner, T) for one chunk of T tokens, so that one
(batch, channel) row is contiguous in time. The state is cut into groups of GROUP values (d_state
padded with zeros up to a multiple of GROUP): B and C of a chunk are (batch, groups, T, GROUP), A
and the state (..., groups, GROUP). A group is an independent recurrence, so the innermost loop
is always `for k in range(GROUP)` over unit-stride rows, which LLVM turns into SIMD code; with a
run-time trip count (d_state itself) it stayed scalar and ran 2-8x slower.

exp: fp32 uses `_exp2f`, a polynomial with the exponent put in by integer arithmetic, which
vectorises with the rest of the loop (libm's exp does not: one call per element); float64 uses
np.exp2, exact to an ulp, for tests against the float64 reference.

Every kernel exists twice, parallel (prange over work items, for more than one thread) and
serial (prange runs as range; no threading layer involved), both compiled on first use and
cached on disk (cache=True: next to this file, or in numba's user cache directory when the
package directory is read-only).
"""

from __future__ import annotations

import types as pytypes

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

GROUP = 16

# Reassociation lets LLVM vectorise the sums over the state; no nnan/ninf, so NaN and inf still
# propagate (tests poison buffers with NaN).
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@intrinsic
def _int_bits_to_float(typingctx, x):
    """The float32 whose bits are the int32 x (a bitcast, no conversion)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


# 2^f on [-1/2, 1/2]: least-squares fit at Chebyshev nodes, degree 6; relative error 1.0e-7
# (under one fp32 ulp), mean error 1e-9 (unbiased, so errors do not add up along the recurrence).
_P = [
    np.float32(c)
    for c in (
        1.5469732e-04,
        1.3400432e-03,
        9.6180256e-03,
        5.5503272e-02,
        2.4022651e-01,
        6.9314721e-01,
        1.0,
    )
]
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = _P
_LO, _HI, _HALF = np.float32(-126.0), np.float32(127.0), np.float32(0.5)
_BIAS, _SHIFT = np.int32(127), np.int32(23)


def _exp2f(x):
    """2^x in fp32, x clamped to [-126, 127] (2^-126 is the smallest normal float)."""
    x = x if x > _LO else _LO
    x = x if x < _HI else _HI
    k = np.floor(x + _HALF)
    f = x - k
    p = (((((_P0 * f + _P1) * f + _P2) * f + _P3) * f + _P4) * f + _P5) * f + _P6
    return p * _int_bits_to_float((np.int32(k) + _BIAS) << _SHIFT)


def exp2(x):
    """2^x in x's precision; compiled by the overload below."""
    raise NotImplementedError


@overload(exp2, inline="always")
def _exp2_overload(x):
    if x == types.float32:
        return _exp2f
    return lambda x: np.exp2(x)


def _forward(dt, u, gate, D, Bc, Cc, A2, state, y, use_gate, use_D):
    """One chunk: y (batch, d_inner, T) and the state carried to the chunk's end, in place.

    dt, u, gate: (batch, d_inner, T); D: (d_inner,); Bc, Cc: (batch, groups, T, GROUP);
    A2 = A · log2(e): (d_inner, groups, GROUP); state: (batch, d_inner, groups, GROUP).
    """
    batch, dim, T = dt.shape
    n_groups = A2.shape[1]
    zero = dt.dtype.type(0)
    for i in prange(batch * dim):
        b = i // dim
        d = i - b * dim
        for g in range(n_groups):
            h = state[b, d, g].copy()
            ar = A2[d, g]
            Bg = Bc[b, g]
            Cg = Cc[b, g]
            for t in range(T):
                dtt = dt[b, d, t]
                x = dtt * u[b, d, t]
                Bt = Bg[t]
                Ct = Cg[t]
                acc = zero
                for k in range(GROUP):
                    hk = exp2(dtt * ar[k]) * h[k] + x * Bt[k]
                    h[k] = hk
                    acc += hk * Ct[k]
                if g == 0:
                    y[b, d, t] = acc
                else:
                    y[b, d, t] += acc
            state[b, d, g, :] = h
        for t in range(T):
            yt = y[b, d, t]
            if use_D:
                yt += D[d] * u[b, d, t]
            if use_gate:
                yt *= gate[b, d, t]
            y[b, d, t] = yt


def _backward(
    dt,
    u,
    gy,
    Bc,
    Cc,
    A2,
    Af,
    start,
    carry,
    ypre,
    sum_lb,
    sum_w,
    dA_part,
    dB_part,
    dC_part,
    scratch,
    dA_acc,
    want_ypre,
):
    """One chunk of the backward, in place; chunks are processed last to first.

    Recomputes h_t from the chunk-start state `start` (batch, d_inner, groups, GROUP), keeping
    h_t and a_t of one (batch, channel, group) in `scratch`, then runs the adjoint
    λ_t = a_{t+1} λ_{t+1} + gy_t C_t backwards from `carry` (a_{t+1} λ_{t+1} at the chunk's end,
    replaced by a_0 λ_0 for the chunk before). Writes per token (batch, d_inner, T):
    ypre = Σ_n C h (if want_ypre), sum_lb = Σ_n λ B, sum_w = Σ_n λ h_{t-1} a A; and adds
    Σ λ h_{t-1} a Δ into dA_part[p] (P, d_inner, groups, GROUP) and gy h, λ Δ u into dC_part[p],
    dB_part[p] (P, batch, groups, T, GROUP), which it zeroes first. p is the work share: share p
    takes items p, p + P, ... so that no two threads add into the same partial.
    """
    batch, dim, T = dt.shape
    n_groups = A2.shape[1]
    P = dB_part.shape[0]
    items = batch * dim
    zero = dt.dtype.type(0)
    for p in prange(P):
        dB_part[p] = 0
        dC_part[p] = 0
        Hs = scratch[p, 0]  # (T + 1, GROUP): Hs[0] = start, Hs[t + 1] = h_t
        As = scratch[p, 1]  # (T + 1, GROUP): As[t] = a_t
        Ls = scratch[p, 2]  # (T + 1, GROUP): Ls[t] = λ_t, Ls[T] = the carry in
        As[T, :] = 1  # so that Ls[T - 1] = 1 · carry + gy C
        dA_acc[p] = 0
        for i in range(p, items, P):
            b = i // dim
            d = i - b * dim
            for g in range(n_groups):
                ar = A2[d, g]
                af = Af[d, g]
                Bg = Bc[b, g]
                Cg = Cc[b, g]
                h = start[b, d, g].copy()
                Hs[0, :] = h
                for t in range(T):
                    dtt = dt[b, d, t]
                    x = dtt * u[b, d, t]
                    Bt = Bg[t]
                    Ct = Cg[t]
                    Ht = Hs[t + 1]
                    At = As[t]
                    acc = zero
                    for k in range(GROUP):
                        a = exp2(dtt * ar[k])
                        hk = a * h[k] + x * Bt[k]
                        h[k] = hk
                        Ht[k] = hk
                        At[k] = a
                        acc += hk * Ct[k]
                    if want_ypre:
                        if g == 0:
                            ypre[b, d, t] = acc
                        else:
                            ypre[b, d, t] += acc
                # λ_t backwards (into Ls), with a_t λ_t h_{t-1} over a_t in As (a_t is then spent)
                Ls[T, :] = carry[b, d, g]
                for t in range(T - 1, -1, -1):
                    gyt = gy[b, d, t]
                    Ct = Cg[t]
                    Lt = Ls[t]
                    Ln = Ls[t + 1]
                    An = As[t + 1]
                    for k in range(GROUP):
                        Lt[k] = An[k] * Ln[k] + gyt * Ct[k]
                carry[b, d, g, :] = As[0] * Ls[0]  # a_0 λ_0, for the chunk before
                dBg = dB_part[p, b, g]
                dCg = dC_part[p, b, g]
                dAg = dA_acc[p]
                for t in range(T):
                    gyt = gy[b, d, t]
                    dtt = dt[b, d, t]
                    x = dtt * u[b, d, t]
                    Bt = Bg[t]
                    Ht = Hs[t + 1]
                    Hp = Hs[t]
                    At = As[t]
                    Lt = Ls[t]
                    dBt = dBg[t]
                    dCt = dCg[t]
                    for k in range(GROUP):
                        dCt[k] += gyt * Ht[k]
                        dBt[k] += Lt[k] * x
                    s_lb = zero
                    s_w = zero
                    for k in range(GROUP):
                        w = Lt[k] * Hp[k] * At[k]
                        s_lb += Lt[k] * Bt[k]
                        s_w += w * af[k]
                        dAg[k] += w * dtt
                    if g == 0:
                        sum_lb[b, d, t] = s_lb
                        sum_w[b, d, t] = s_w
                    else:
                        sum_lb[b, d, t] += s_lb
                        sum_w[b, d, t] += s_w
                for k in range(GROUP):
                    dA_part[p, d, g, k] += dAg[k]
                    dAg[k] = 0


_KERNELS: dict[tuple[str, bool], object] = {}


def kernel(name: str, parallel: bool):
    """The compiled kernel `forward` or `backward`, parallel or serial (compiled on first use)."""
    key = (name, parallel)
    if key not in _KERNELS:
        fn = {"forward": _forward, "backward": _backward}[name]
        # The on-disk cache is per function name, not per compile option: give each variant its
        # own name, or the serial and parallel builds would overwrite each other's cache entry.
        variant = pytypes.FunctionType(fn.__code__, fn.__globals__, fn.__name__)
        variant.__qualname__ = f"{fn.__qualname__}_{'parallel' if parallel else 'serial'}"
        _KERNELS[key] = numba.njit(variant, cache=True, fastmath=FASTMATH, parallel=parallel)
    return _KERNELS[key]
