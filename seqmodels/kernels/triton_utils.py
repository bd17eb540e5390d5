"""What every Triton kernel module of the package shares: the interpreter flag, the constants the
kernels read, softplus, the heuristic that turns a `None` argument into a feature flag, and the
device check of the public functions. Kernel modules import from here, never from each other."""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import triton
import triton.language as tl
from torch import Tensor

# Read once, at import, as triton.jit does: the interpreter runs CPU tensors (fp32 only) and
# crashes with more than one autotune config.
INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"
LOG2E = tl.constexpr(math.log2(math.e))  # kernels may only read constexpr globals
LN2 = tl.constexpr(math.log(2.0))


@triton.jit
def softplus(x):
    """log(1 + exp(x)) in fp32, as torch's: the identity above 20, and accurate for very negative x
    through log1p(e) = log(1 + e) e / ((1 + e) - 1), exact even when 1 + e rounds (libdevice's
    log1p is not available in the interpreter)."""
    e = tl.exp2(tl.minimum(x, 20.0) * LOG2E)
    e1 = 1.0 + e
    return tl.where(x > 20.0, x, tl.where(e1 == 1.0, e, tl.log(e1) * tl.fdiv(e, e1 - 1.0)))


def given(name: str) -> Callable[[dict], bool]:
    """A `triton.heuristics` value: True when the launcher passed the argument `name` (a feature
    such as D or z is switched on by passing its tensor, off by passing None)."""
    return lambda args: args[name] is not None


def check_device(x: Tensor, what: str) -> None:
    """ValueError unless `x` can go to a Triton kernel: a CUDA tensor, or any under the
    interpreter."""
    if not (x.is_cuda or INTERPRET):
        raise ValueError(
            f"{what} needs CUDA tensors (or, to run CPU tensors in Triton's interpreter, "
            "TRITON_INTERPRET=1 set before triton is first imported)"
        )
