"""One step of the depthwise causal conv in Triton, for token-by-token generation.

The window is the carried state (the last width - 1 inputs) followed by x_t; the kernel forms the
output and shifts x_t into the state in place, in one pass over the state instead of the
reference's concatenate, einsum and copy. A program owns BLOCK_D channels of one batch element.
The bias is passed as None when absent; `triton.heuristics` turns that into HAS_BIAS.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from seqmodels.kernels.triton_utils import check_device, decode_program, given, load_f32


@triton.heuristics({"HAS_BIAS": given("p_bias")})
@triton.jit
def _conv_update_kernel(
    p_x,  # (batch, D)
    p_state,  # (batch, D, W - 1), updated in place
    p_w,  # (D, W)
    p_bias,  # (D,) or None
    p_y,  # (batch, D) out
    s_x_b,
    s_state_b,
    s_state_d,
    D,
    W,
    HAS_BIAS: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_W: tl.constexpr,
):
    i_b, o_d, m_d = decode_program(D, BLOCK_D)
    o_w = tl.arange(0, BLOCK_W)

    p_s = p_state + i_b * s_state_b + o_d[:, None] * s_state_d
    b_x = load_f32(p_x, i_b * s_x_b + o_d, m_d)
    # window[k] = state[k] for k < W - 1, then x; the new state is window[1:]
    m_old = m_d[:, None] & (o_w < W - 1)[None, :]
    b_win = load_f32(p_s, o_w[None, :], m_old)
    b_win = tl.where(o_w[None, :] == W - 1, b_x[:, None], b_win)
    m_next = m_d[:, None] & (o_w + 1 < W - 1)[None, :]
    b_next = load_f32(p_s, o_w[None, :] + 1, m_next)
    b_next = tl.where(o_w[None, :] == W - 2, b_x[:, None], b_next)

    m_w = m_d[:, None] & (o_w < W)[None, :]
    b_w = load_f32(p_w, o_d[:, None] * W + o_w[None, :], m_w)
    b_y = tl.sum(b_win * b_w, 1)
    if HAS_BIAS:
        b_y += load_f32(p_bias, o_d, m_d)
    tl.store(p_y + i_b * D + o_d, b_y.to(p_y.dtype.element_ty), mask=m_d)
    tl.debug_barrier()  # every thread has read the old state before any of it is overwritten
    tl.store(p_s + o_w[None, :], b_next.to(p_state.dtype.element_ty), mask=m_old)


def _conv_update(x: Tensor, conv_state: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """Launch the kernel on checked inputs; returns y."""
    batch, dim = x.shape
    width = weight.shape[1]
    x = x if x.stride(-1) == 1 else x.contiguous()
    weight = weight.contiguous()
    y = torch.empty(batch, dim, device=x.device, dtype=x.dtype)
    block_w = triton.next_power_of_2(width)
    block_d = max(1, min(256, 1024 // block_w))
    grid = (triton.cdiv(dim, block_d), batch)
    _conv_update_kernel[grid](
        x, conv_state, weight, bias, y,
        x.stride(0), conv_state.stride(0), conv_state.stride(1), dim, width,
        BLOCK_D=block_d, BLOCK_W=block_w, num_warps=4,
    )  # fmt: skip
    return y


def causal_conv1d_update_triton(
    x: Tensor,
    conv_state: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
) -> Tensor:
    """One step of the causal conv: returns (batch, dim) in x's dtype and shifts x into
    `conv_state` in place; same contract as `causal_conv1d_update_ref`.

    Shapes: x (batch, dim); conv_state (batch, dim, width - 1), updated in place; weight
    (dim, width); bias (dim,). `conv_state` may be a view (one layer of a stacked cache) as long
    as its last axis is contiguous. Needs CUDA tensors, or CPU tensors under TRITON_INTERPRET=1.
    Raises ValueError on mismatched shapes, a strided state, or tensors the kernel cannot reach.
    """
    if x.dim() != 2 or weight.dim() != 2 or weight.shape[0] != x.shape[1]:
        raise ValueError(
            f"x must be (batch, dim) and weight (dim, width), got {tuple(x.shape)} and "
            f"{tuple(weight.shape)}"
        )
    batch, dim = x.shape
    width = weight.shape[1]
    if tuple(conv_state.shape) != (batch, dim, width - 1):
        raise ValueError(
            f"conv_state must have shape {(batch, dim, width - 1)}, got {tuple(conv_state.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (dim,):
        raise ValueError(f"bias must have shape {(dim,)}, got {tuple(bias.shape)}")
    if width > 1 and conv_state.stride(-1) != 1:
        raise ValueError("conv_state must have unit stride along its last axis (updated in place)")
    check_device(x, "the Triton conv update")
    return _conv_update(x, conv_state, weight, bias)
