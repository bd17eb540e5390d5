"""The selective scan and its backends: reference (definition), cpu (chunked), triton (fused GPU).

`selective_scan` picks Triton for CUDA tensors and the CPU path otherwise;
the environment variable SEQMODELS_SCAN=reference|cpu|triton forces one (tests use it).
"""

from __future__ import annotations

import os

from torch import Tensor

from seqmodels.kernels.scan.reference import selective_scan_ref

BACKENDS = ("reference", "cpu", "triton")


def scan_backend(u: Tensor) -> str:
    """The backend `selective_scan` will use for this input."""
    forced = os.environ.get("SEQMODELS_SCAN", "").strip().lower()
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"SEQMODELS_SCAN={forced!r}: choose one of {', '.join(BACKENDS)}")
        return forced
    return "triton" if u.is_cuda else "cpu"


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    initial_state: Tensor | None = None,
    return_last_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Selective scan on the best backend for the input; see `selective_scan_ref` for shapes."""
    backend = scan_backend(u)
    if backend == "cpu":
        from seqmodels.kernels.scan.cpu import selective_scan_cpu as fn
    elif backend == "triton":
        from seqmodels.kernels.scan.triton import selective_scan_triton as fn
    else:
        fn = selective_scan_ref
    return fn(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, return_last_state)


__all__ = ["BACKENDS", "scan_backend", "selective_scan", "selective_scan_ref"]
