"""Depthwise causal conv1d with carried state. The one-step update runs a Triton kernel for CUDA
tensors and the torch reference otherwise (SEQMODELS_SCAN=triton|reference forces one, as for the
scan: one chooser, `seqmodels.kernels.backend`); the whole-sequence conv is torch's conv1d."""

from __future__ import annotations

from torch import Tensor

from seqmodels.kernels.backend import uses_triton
from seqmodels.kernels.causal_conv.reference import causal_conv1d_ref, causal_conv1d_update_ref

causal_conv1d = causal_conv1d_ref


def causal_conv1d_update(
    x: Tensor, conv_state: Tensor, weight: Tensor, bias: Tensor | None = None
) -> Tensor:
    """One step of the causal conv, shifting x into `conv_state` in place; see
    `causal_conv1d_update_ref` for shapes."""
    if uses_triton(x):
        from seqmodels.kernels.causal_conv.triton import causal_conv1d_update_triton as fn
    else:
        fn = causal_conv1d_update_ref
    return fn(x, conv_state, weight, bias)


__all__ = ["causal_conv1d", "causal_conv1d_ref", "causal_conv1d_update", "causal_conv1d_update_ref"]
