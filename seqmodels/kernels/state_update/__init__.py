"""One-step state update for recurrent decoding: a fused Triton kernel for CUDA tensors, the torch
reference otherwise; SEQMODELS_SCAN=triton|reference forces one, as for the scan (one chooser:
`seqmodels.kernels.backend`)."""

from __future__ import annotations

import functools
from typing import Any

from torch import Tensor

from seqmodels.kernels.backend import uses_triton
from seqmodels.kernels.state_update.reference import selective_state_update_ref


@functools.wraps(selective_state_update_ref)  # the reference's signature and docstring
def selective_state_update(state: Tensor, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Advance `state` by one token in place; see `selective_state_update_ref` for shapes."""
    if uses_triton(x):
        from seqmodels.kernels.state_update.triton import selective_state_update_triton as fn
    else:
        fn = selective_state_update_ref
    return fn(state, x, *args, **kwargs)


__all__ = ["selective_state_update", "selective_state_update_ref"]
