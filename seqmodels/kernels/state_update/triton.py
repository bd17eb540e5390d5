"""One recurrent step of the selective scan in Triton, for token-by-token generation.

Fuses what the reference does in several torch ops: dt bias and softplus, exp(dt A), the state
update (in place), the C contraction, D x and the SiLU(z) gate (docs/selective_scan.md has the
math). A program owns BLOCK_D channels of one batch element with all their states; the state's
rows are contiguous, so its read and write, which are the cost of a decode step, are full vector
accesses. No autotuning: it would replay the in-place update. D, z and dt_bias are passed as None
when absent; `triton.heuristics` turns that into the HAS_* flags.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from seqmodels.kernels.triton_utils import (
    LOG2E,
    check_device,
    decode_program,
    given,
    load_f32,
    softplus,
)


@triton.heuristics({"HAS_D": given("p_D"), "HAS_Z": given("p_z"), "HAS_BIAS": given("p_bias")})
@triton.jit
def _state_update_kernel(
    p_state,  # (batch, D, N) fp32, updated in place
    p_x,  # (batch, D)
    p_dt,  # (batch, D)
    p_A,  # (D, N)
    p_B,  # (batch, N)
    p_C,  # (batch, N)
    p_D,  # (D,) or None
    p_z,  # (batch, D) or None
    p_bias,  # (D,) or None
    p_y,  # (batch, D) out
    s_state_b,
    s_state_d,
    s_x_b,
    s_dt_b,
    s_B_b,
    s_C_b,
    s_z_b,
    D,
    N,
    HAS_D: tl.constexpr,
    HAS_Z: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    i_b, o_d, m_d = decode_program(D, BLOCK_D)
    o_n = tl.arange(0, BLOCK_N)
    m_n = o_n < N
    m_dn = m_d[:, None] & m_n[None, :]

    p_h = p_state + i_b * s_state_b + o_d[:, None] * s_state_d + o_n[None, :]
    b_h = tl.load(p_h, mask=m_dn, other=0.0)
    b_x = load_f32(p_x, i_b * s_x_b + o_d, m_d)
    b_dt = load_f32(p_dt, i_b * s_dt_b + o_d, m_d)
    if HAS_BIAS:
        b_dt += load_f32(p_bias, o_d, m_d)
    if SOFTPLUS:
        b_dt = softplus(b_dt)
    b_A = load_f32(p_A, o_d[:, None] * N + o_n[None, :], m_dn)
    b_B = load_f32(p_B, i_b * s_B_b + o_n, m_n)
    b_C = load_f32(p_C, i_b * s_C_b + o_n, m_n)

    b_h = tl.exp2(b_dt[:, None] * b_A * LOG2E) * b_h + (b_dt * b_x)[:, None] * b_B[None, :]
    tl.store(p_h, b_h, mask=m_dn)
    b_y = tl.sum(b_h * b_C[None, :], 1)  # (BD,)
    if HAS_D:
        b_y += b_x * load_f32(p_D, o_d, m_d)
    if HAS_Z:
        b_z = load_f32(p_z, i_b * s_z_b + o_d, m_d)
        b_y *= b_z * tl.sigmoid(b_z)
    tl.store(p_y + i_b * D + o_d, b_y.to(p_y.dtype.element_ty), mask=m_d)


def _rows(t: Tensor) -> Tensor:
    """t with unit stride along its last axis (a copy only if needed; never for the state)."""
    return t if t.stride(-1) == 1 else t.contiguous()


def selective_state_update_triton(
    state: Tensor,
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    dt_bias: Tensor | None = None,
    dt_softplus: bool = False,
) -> Tensor:
    """Advance `state` by one token in place and return y_t (batch, d_inner) in x's dtype; same
    contract as `selective_state_update_ref`.

    Shapes: state (batch, d_inner, d_state) fp32, updated in place; x, dt, z (batch, d_inner);
    A (d_inner, d_state); B, C (batch, d_state); D, dt_bias (d_inner,). `state` may be a view
    (e.g. one layer of a stacked cache) as long as its last axis is contiguous. Needs CUDA
    tensors, or CPU tensors under TRITON_INTERPRET=1. Raises ValueError on a state that is not
    fp32 or not contiguous along d_state, on a shape that does not match the state's, or on
    tensors the kernel cannot reach.
    """
    if state.dim() != 3 or state.dtype != torch.float32:
        shape = tuple(state.shape)
        raise ValueError(
            f"state must be (batch, d_inner, d_state) float32, got {shape} {state.dtype}"
        )
    batch, dim, n = state.shape
    expected = {
        "x": (x, (batch, dim)),
        "dt": (dt, (batch, dim)),
        "A": (A, (dim, n)),
        "B": (B, (batch, n)),
        "C": (C, (batch, n)),
        "D": (D, (dim,)),
        "z": (z, (batch, dim)),
        "dt_bias": (dt_bias, (dim,)),
    }
    for name, (tensor, shape) in expected.items():
        if tensor is not None and tuple(tensor.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")
    if state.stride(-1) != 1:
        raise ValueError("state must have unit stride along d_state (it is updated in place)")
    check_device(state, "the Triton state update")
    x, dt, B, C = (_rows(t) for t in (x, dt, B, C))
    z = _rows(z) if z is not None else None
    A = A.contiguous()
    y = torch.empty(batch, dim, device=x.device, dtype=x.dtype)
    block_n = triton.next_power_of_2(n)
    block_d = max(1, min(64, 512 // block_n))  # 512 states per program, 4 per thread
    grid = (triton.cdiv(dim, block_d), batch)
    _state_update_kernel[grid](
        state, x, dt, A, B, C, D, z, dt_bias, y,
        state.stride(0), state.stride(1), x.stride(0), dt.stride(0), B.stride(0), C.stride(0),
        z.stride(0) if z is not None else 0, dim, n,
        SOFTPLUS=dt_softplus, BLOCK_D=block_d, BLOCK_N=block_n, num_warps=4,
    )  # fmt: skip
    return y
