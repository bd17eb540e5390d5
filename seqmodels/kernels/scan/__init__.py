"""The selective scan and its backends: reference (definition), cpu (chunked), triton (fused GPU).

`selective_scan` asks `seqmodels.kernels.backend.scan_backend`: Triton for CUDA tensors, the CPU
path otherwise, or what SEQMODELS_SCAN=reference|cpu|triton forces (tests use it). The math is in
docs/selective_scan.md.
"""

from __future__ import annotations

import functools
from typing import Any

from torch import Tensor

from seqmodels.kernels.backend import BACKENDS, scan_backend
from seqmodels.kernels.scan.reference import selective_scan_ref


@functools.wraps(selective_scan_ref)  # the reference's signature and docstring: one contract
def selective_scan(u: Tensor, *args: Any, **kwargs: Any) -> Tensor | tuple[Tensor, Tensor]:
    """Selective scan on the best backend for the input; see `selective_scan_ref` for shapes."""
    backend = scan_backend(u)
    if backend == "cpu":
        from seqmodels.kernels.scan.cpu import selective_scan_cpu as fn
    elif backend == "triton":
        from seqmodels.kernels.scan.triton import selective_scan_triton as fn
    else:
        fn = selective_scan_ref
    return fn(u, *args, **kwargs)


__all__ = ["BACKENDS", "scan_backend", "selective_scan", "selective_scan_ref"]
