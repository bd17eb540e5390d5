"""One-step state update for recurrent decoding: a fused Triton kernel for CUDA tensors, the torch
reference otherwise; SEQMODELS_SCAN=triton|reference forces one, as for the scan (one chooser:
`seqmodels.kernels.backend`)."""

from __future__ import annotations

from torch import Tensor

from seqmodels.kernels.backend import uses_triton
from seqmodels.kernels.state_update.reference import selective_state_update_ref


def selective_state_update(
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
    """Advance `state` by one token in place; see `selective_state_update_ref` for shapes."""
    if uses_triton(x):
        from seqmodels.kernels.state_update.triton import selective_state_update_triton as fn
    else:
        fn = selective_state_update_ref
    return fn(state, x, dt, A, B, C, D, z, dt_bias, dt_softplus)


__all__ = ["selective_state_update", "selective_state_update_ref"]
