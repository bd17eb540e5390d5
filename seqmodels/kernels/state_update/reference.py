"""One recurrent step of the selective scan, for generation: the state is updated in place.

Same math as one time step of `selective_scan_ref` (docs/selective_scan.md), so decoding token by
token with this function reproduces the full scan.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def selective_state_update_ref(
    state: Tensor,  # (batch, d_inner, d_state), fp32, updated in place
    x: Tensor,  # (batch, d_inner)
    dt: Tensor,  # (batch, d_inner)
    A: Tensor,  # (d_inner, d_state)
    B: Tensor,  # (batch, d_state)
    C: Tensor,  # (batch, d_state)
    D: Tensor | None = None,  # (d_inner,)
    z: Tensor | None = None,  # (batch, d_inner)
    dt_bias: Tensor | None = None,  # (d_inner,)
    dt_softplus: bool = False,
) -> Tensor:
    """Advance `state` by one token and return y_t (batch, d_inner) in x's dtype.

    Generation calls this once per token and layer on small tensors, where each torch op's fixed
    cost outweighs its arithmetic: so the update runs in place, with exp(Δ A) as the only
    (batch, d_inner, d_state) temporary, and C is contracted by a multiply-sum, which is faster
    than einsum's batched matmul at these sizes.
    """
    f = state.dtype
    dt = dt.to(f)
    if dt_bias is not None:
        dt = dt + dt_bias.to(f)
    if dt_softplus:
        dt = F.softplus(dt)
    xf = x.to(f)
    dA = (dt[..., None] * A.to(f)).exp_()  # (batch, d_inner, d_state)
    state.mul_(dA).addcmul_((dt * xf)[..., None], B.to(f)[:, None, :])  # h = exp(ΔA) h + Δ B x
    y = (state * C.to(f)[:, None, :]).sum(-1)  # (batch, d_inner)
    if D is not None:
        y = torch.addcmul(y, xf, D.to(f))
    if z is not None:
        y = y * F.silu(z.to(f))
    return y.to(x.dtype)
