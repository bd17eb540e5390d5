"""Kernels: the selective scan, the one-step state update and the causal conv. No model code here;
this is the only package that imports triton (lazily, so CPU-only installs never need it)."""

from seqmodels.kernels.causal_conv import causal_conv1d, causal_conv1d_update
from seqmodels.kernels.scan import scan_backend, selective_scan, selective_scan_ref
from seqmodels.kernels.state_update import selective_state_update

__all__ = [
    "causal_conv1d",
    "causal_conv1d_update",
    "scan_backend",
    "selective_scan",
    "selective_scan_ref",
    "selective_state_update",
]
