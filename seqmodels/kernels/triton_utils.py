"""What every Triton kernel module of the package shares: the interpreter flag, the constants the
kernels read, softplus, fp32 loads, the start of a decode kernel, the heuristic that turns a
`None` argument into a feature flag, and the device check of the public functions. Kernel modules
import from here, never from each other."""

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


@triton.jit
def load_f32(p, offsets, mask):
    """A block of any input in fp32, zero outside `mask`."""
    return tl.load(p + offsets, mask=mask, other=0.0).to(tl.float32)


@triton.jit
def decode_program(D, BLOCK_D: tl.constexpr):
    """What a one-token (decode) kernel starts with: its batch element (int64, for the row
    offsets), its block of channels and their mask."""
    i_d, i_b = tl.program_id(0), tl.program_id(1).to(tl.int64)
    o_d = i_d * BLOCK_D + tl.arange(0, BLOCK_D)
    return i_b, o_d, o_d < D


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
