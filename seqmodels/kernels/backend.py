"""Which implementation the kernels run: the one chooser that the scan, the state update and the
causal-conv update all ask.

The scan has three backends: `reference` (the definition, a loop over tokens), `cpu` (chunked
torch) and `triton` (fused GPU kernels). The one-step kernels have a Triton kernel and the torch
reference; they take `triton` when the scan would and the reference otherwise. By default CUDA
tensors take Triton and the rest the CPU path; SEQMODELS_SCAN=reference|cpu|triton forces one
(tests use it).
"""

from __future__ import annotations

import os

from torch import Tensor

BACKENDS = ("reference", "cpu", "triton")


def scan_backend(x: Tensor) -> str:
    """The backend for this input: SEQMODELS_SCAN if set, else triton for CUDA tensors, else cpu."""
    forced = os.environ.get("SEQMODELS_SCAN", "").strip().lower()
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"SEQMODELS_SCAN={forced!r}: choose one of {', '.join(BACKENDS)}")
        return forced
    return "triton" if x.is_cuda else "cpu"


def uses_triton(x: Tensor) -> bool:
    """Whether the one-step kernels (state update, conv update) run Triton for this input."""
    return scan_backend(x) == "triton"


__all__ = ["BACKENDS", "scan_backend", "uses_triton"]
