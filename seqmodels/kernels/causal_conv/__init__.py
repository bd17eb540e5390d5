"""Depthwise causal conv1d with carried state (reference; a fused GPU version may sit beside it)."""

from seqmodels.kernels.causal_conv.reference import causal_conv1d_ref, causal_conv1d_update_ref

causal_conv1d = causal_conv1d_ref
causal_conv1d_update = causal_conv1d_update_ref

__all__ = ["causal_conv1d", "causal_conv1d_ref", "causal_conv1d_update", "causal_conv1d_update_ref"]
