"""Depthwise causal 1-D convolution, over a whole sequence or one step at a time.

The conv state holds the last (width - 1) inputs, so that a sequence processed in pieces, or
token by token, gives the same output as one pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def causal_conv1d_ref(
    x: Tensor,  # (batch, dim, L)
    weight: Tensor,  # (dim, width)
    bias: Tensor | None = None,  # (dim,)
    initial_state: Tensor | None = None,  # (batch, dim, width - 1)
    return_final_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Causal depthwise conv; the initial state stands for the inputs before x (zeros if None)."""
    width = weight.shape[1]
    if initial_state is None:
        initial_state = x.new_zeros(x.shape[0], x.shape[1], width - 1)
    padded = torch.cat([initial_state.to(x.dtype), x], dim=-1)  # (batch, dim, width - 1 + L)
    y = F.conv1d(padded, weight[:, None, :], bias, groups=x.shape[1])
    if not return_final_state:
        return y
    return y, padded[:, :, padded.shape[-1] - (width - 1) :].clone()


def causal_conv1d_update_ref(
    x: Tensor,  # (batch, dim)
    conv_state: Tensor,  # (batch, dim, width - 1), updated in place
    weight: Tensor,  # (dim, width)
    bias: Tensor | None = None,
) -> Tensor:
    """One step of the causal conv: returns (batch, dim) and shifts x into conv_state.

    One multiply-add per tap and one copy per shifted column: for the few taps of a Mamba conv
    that is cheaper than concatenating a window and contracting it (generation runs this once per
    token and layer, where op count, not arithmetic, sets the time).
    """
    width = weight.shape[1]
    xs = x.to(conv_state.dtype)
    weight = weight.to(conv_state.dtype)
    y = xs * weight[:, -1] if bias is None else torch.addcmul(bias.to(xs.dtype), xs, weight[:, -1])
    for k in range(width - 1):
        y.addcmul_(conv_state[:, :, k], weight[:, k])
    for k in range(width - 2):
        conv_state[:, :, k].copy_(conv_state[:, :, k + 1])
    if width > 1:
        conv_state[:, :, -1].copy_(xs)
    return y.to(x.dtype)
