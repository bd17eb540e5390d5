"""Compiled loops of the CPU selective scan (numba); imported on the first call, never at import.

Layout: per-token arrays are (batch, d_inner, T) for one chunk of T tokens, so that one
(batch, channel) row is contiguous in time. The state is cut into groups of GROUP values (d_state
padded with zeros up to a multiple of GROUP): B and C of a chunk are (batch, groups, T, GROUP), A
and the state (..., groups, GROUP). A group is an independent recurrence, so the innermost loop
is always `for k in range(GROUP)` over unit-stride rows, which LLVM turns into SIMD code; with a
run-time trip count (d_state itself) it stayed scalar and ran 2-8x slower.

exp: fp32 uses `_exp2f`, a polynomial with the exponent put in by integer arithmetic, which
vectorises with the rest of the loop (libm's exp does not: one call per element); float64 uses
np.exp2, exact to an ulp, for tests against the float64 reference. The backward's sigmoids (of
z, and of δ for the softplus gradient) use the same polynomial in fp32. What keeps the loops
vectorised: a trip count fixed at GROUP, the `noalias` flag (_NoAliasCompiler: no run-time
overlap checks between the arrays), error_model="numpy" (no zero-division branch in a division)
and selects, not branches, in the loops over t.

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
from numba.core.compiler import CompilerBase, DefaultPassBuilder
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
_MLOG2E = np.float32(-np.log2(np.e))


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


def _sigmoid(x):
    """1 / (1 + e^-x) in x's precision; compiled by the overload below."""
    raise NotImplementedError


@overload(_sigmoid)
def _sigmoid_overload(x):
    if x == types.float32:
        return lambda x: np.float32(1) / (np.float32(1) + exp2(x * _MLOG2E))
    return lambda x: 1 / (1 + np.exp(-x))


@numba.njit(inline="always")  # inlined in numba's IR: compiled with the kernel's flags
def _token(dt, u, gy, Bg, Cg, Hp, Ap, b, d, t):
    """What the backward's two passes over a row read of token t: Δ_t, Δ_t u_t, gy_t and the
    rows B_t, C_t, h_{t-1} and a_t of the group."""
    dtt = dt[b, d, t]
    return dtt, dtt * u[b, d, t], gy[t], Bg[t], Cg[t], Hp[t], Ap[t]


def _backward(
    dt, raw, u, g, z, D, Bc, Cc, A2, Af, start, carry, du, ddt, dz, dD_rows, dbias_rows,
    dA_part, dB_part, dC_part, Hs, As, use_gate, use_D, softplus,
):  # fmt: skip
    """One chunk of the backward, in place; chunks are processed last to first.

    Inputs per token (batch, d_inner, T): Δ (dt), δ + bias before the softplus (raw), u, ∂y (g),
    z; D (d_inner,); B, C, A2, Af = A as for the forward; `start` (batch, d_inner, groups,
    GROUP) the chunk-start state, `carry` a_{t+1} λ_{t+1} at the chunk's end, replaced by a_0 λ_0
    for the chunk before. Per (batch, channel) row:

    - gy = g · silu(z) (g without the gate);
    - per group, forwards: recompute h_t from `start`, keeping h_{t-1} and a_t of the row in
      Hs[p], As[p] (P, T, GROUP), adding gy_t h_t into dC and Σ_n C h into ypre (y before D and
      the gate). Backwards: the adjoint λ_t = a_{t+1} λ_{t+1} + gy_t C_t in a local array, like
      the state in the forward, with every gradient term of token t in the same step: λ Δ u
      into dB, Σ_n λ B and Σ_n λ h_{t-1} a A per token, Σ_t λ h_{t-1} a Δ into dA;
    - per token: du, ∂δ (through the softplus, with F.softplus's threshold 20), ∂z, and the
      row's sums Σ_t gy u (dD_rows) and Σ_t ∂δ (dbias_rows), both (batch, d_inner).

    dA_part (P, d_inner, groups, GROUP) gets added into; dB_part, dC_part (P, batch, groups, T,
    GROUP) are zeroed first. p is the work share: share p takes items p, p + P, ... so that no
    two threads add into the same partial.
    """
    batch, dim, T = dt.shape
    n_groups = A2.shape[1]
    P = dB_part.shape[0]
    items = batch * dim
    f = dt.dtype
    zero = f.type(0)
    for p in prange(P):
        dB_part[p] = 0
        dC_part[p] = 0
        Hp = Hs[p]
        Ap = As[p]
        gy = np.empty(T, f)
        sz = np.empty(T, f)  # σ(z)
        ypre = np.empty(T, f)
        s_lb = np.empty(T, f)
        s_w = np.empty(T, f)
        for i in range(p, items, P):
            b = i // dim
            d = i - b * dim
            Dd = D[d] if use_D else zero
            g_r, z_r, u_r, dt_r = g[b, d], z[b, d] if use_gate else g[b, d], u[b, d], dt[b, d]
            # one branch-free loop per case, so that each vectorises over t
            if use_gate:
                for t in range(T):
                    sz[t] = _sigmoid(z_r[t])
                    gy[t] = g_r[t] * z_r[t] * sz[t]
            else:
                gy[:] = g_r
            for grp in range(n_groups):
                ar = A2[d, grp]
                af = Af[d, grp]
                Bg = Bc[b, grp]
                Cg = Cc[b, grp]
                dBg = dB_part[p, b, grp]
                dCg = dC_part[p, b, grp]
                h = start[b, d, grp].copy()
                for t in range(T):
                    dtt, x, gyt, Bt, Ct, Ht, At = _token(dt, u, gy, Bg, Cg, Hp, Ap, b, d, t)
                    dCt = dCg[t]
                    acc = zero
                    for k in range(GROUP):
                        a = exp2(dtt * ar[k])
                        Ht[k] = h[k]
                        At[k] = a
                        hk = a * h[k] + x * Bt[k]
                        h[k] = hk
                        acc += hk * Ct[k]
                        dCt[k] += gyt * hk
                    ypre[t] = acc if grp == 0 else ypre[t] + acc
                m = carry[b, d, grp].copy()  # a_{t+1} λ_{t+1}
                dA = np.zeros(GROUP, f)
                for t in range(T - 1, -1, -1):
                    dtt, x, gyt, Bt, Ct, Ht, At = _token(dt, u, gy, Bg, Cg, Hp, Ap, b, d, t)
                    dBt = dBg[t]
                    lb = zero
                    w_a = zero
                    for k in range(GROUP):
                        lam = m[k] + gyt * Ct[k]
                        lb += lam * Bt[k]
                        dBt[k] += lam * x
                        mk = At[k] * lam
                        w = mk * Ht[k]
                        w_a += w * af[k]
                        dA[k] += w * dtt
                        m[k] = mk
                    s_lb[t] = lb if grp == 0 else s_lb[t] + lb
                    s_w[t] = w_a if grp == 0 else s_w[t] + w_a
                carry[b, d, grp, :] = m  # a_0 λ_0, for the chunk before
                for k in range(GROUP):
                    dA_part[p, d, grp, k] += dA[k]
            sum_D = zero
            du_r, ddt_r = du[b, d], ddt[b, d]
            for t in range(T):
                du_r[t] = dt_r[t] * s_lb[t] + Dd * gy[t]
                sum_D += gy[t] * u_r[t]
                s_w[t] += s_lb[t] * u_r[t]  # ∂Δ
            if softplus:  # softplus' = σ, below F.softplus's threshold
                raw_r = raw[b, d]
                for t in range(T):
                    sr = _sigmoid(raw_r[t])  # unconditionally: a select vectorises, a branch not
                    s_w[t] *= sr if raw_r[t] <= 20 else f.type(1)
            sum_bias = zero
            for t in range(T):
                ddt_r[t] = s_w[t]
                sum_bias += s_w[t]
            if use_gate:
                dz_r = dz[b, d]
                for t in range(T):
                    yt = ypre[t] + Dd * u_r[t]
                    dz_r[t] = g_r[t] * yt * sz[t] * (1 + z_r[t] * (1 - sz[t]))
            dD_rows[b, d] = sum_D
            dbias_rows[b, d] = sum_bias


class _NoAliasCompiler(CompilerBase):
    """numba's nopython pipeline with its `noalias` flag: every array argument is `noalias`.

    Without it LLVM must assume that an array the loops write may overlap one they read, and
    guards each vectorised `for k in range(GROUP)` with run-time overlap checks (about 40
    instructions per token for the backward's dozen rows, as many as the work itself) and a
    scalar copy. The flag is numba's own (its parallel gufuncs set it when no arguments alias);
    the kernels' callers pass distinct, non-overlapping arrays.
    """

    def define_pipelines(self):
        self.state.flags.noalias = True
        return [DefaultPassBuilder.define_nopython_pipeline(self.state)]


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
        _KERNELS[key] = numba.njit(
            variant,
            cache=True,
            fastmath=FASTMATH,
            error_model="numpy",  # no ZeroDivisionError check: a division in a loop vectorises
            parallel=parallel,
            pipeline_class=_NoAliasCompiler,
        )
    return _KERNELS[key]
