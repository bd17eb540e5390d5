"""Reference selective scan: a plain PyTorch loop over time that defines the operation.

Every fast backend (cpu, triton) has this signature and is tested against this function. It runs
in float64 when given float64 inputs, so tests can measure a backend's error against exact math.
The math is in docs/selective_scan.md; symbols follow the Mamba paper (Δ = delta, A, B, C, D,
h = state).
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class ScanInputs(NamedTuple):
    """The tensors of one scan call, in the signature's order (None for an absent option); also
    their gradients, named after them."""

    u: Tensor
    delta: Tensor
    A: Tensor
    B: Tensor
    C: Tensor
    D: Tensor | None = None
    z: Tensor | None = None
    delta_bias: Tensor | None = None
    initial_state: Tensor | None = None


def check_scan_inputs(inputs: ScanInputs) -> None:
    """Raise ValueError naming the first argument whose shape breaks the scan's contract."""
    u, delta, A, B, C, D, z, delta_bias, initial_state = inputs
    if u.dim() != 3:
        raise ValueError(f"u must be (batch, d_inner, L), got shape {tuple(u.shape)}")
    batch, dim, length = u.shape
    n = A.shape[-1] if A.dim() == 2 else -1
    expected = {
        "delta": (delta, (batch, dim, length)),
        "A": (A, (dim, n)),
        "B": (B, (batch, n, length)),
        "C": (C, (batch, n, length)),
        "D": (D, (dim,)),
        "z": (z, (batch, dim, length)),
        "delta_bias": (delta_bias, (dim,)),
        "initial_state": (initial_state, (batch, dim, n)),
    }
    for name, (tensor, shape) in expected.items():
        if tensor is not None and tuple(tensor.shape) != shape:
            raise ValueError(
                f"{name} must have shape {shape} (batch, d_inner, d_state, L = "
                f"{batch}, {dim}, {n}, {length}), got {tuple(tensor.shape)}"
            )
    if A.is_complex():
        raise ValueError("A must be real")
    devices = {t.device for t in inputs if t is not None}
    if len(devices) > 1:
        raise ValueError(f"all scan inputs must be on one device, got {sorted(map(str, devices))}")


def state_dtype(u: Tensor) -> torch.dtype:
    """The recurrence runs in fp32, or in float64 when the inputs are float64."""
    return torch.float64 if u.dtype == torch.float64 else torch.float32


def selective_scan_ref(
    u: Tensor,  # (batch, d_inner, L)
    delta: Tensor,  # (batch, d_inner, L)
    A: Tensor,  # (d_inner, d_state)
    B: Tensor,  # (batch, d_state, L)
    C: Tensor,  # (batch, d_state, L)
    D: Tensor | None = None,  # (d_inner,)
    z: Tensor | None = None,  # (batch, d_inner, L)
    delta_bias: Tensor | None = None,  # (d_inner,)
    delta_softplus: bool = False,
    initial_state: Tensor | None = None,  # (batch, d_inner, d_state)
    return_last_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """y = scan(u) as defined in docs/selective_scan.md; returns y (u's dtype) and, if asked, the
    last state.

    h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t;  y_t = C_t · h_t + D u_t;  y_t *= silu(z_t).
    """
    check_scan_inputs(ScanInputs(u, delta, A, B, C, D, z, delta_bias, initial_state))
    out_dtype = u.dtype
    f = state_dtype(u)
    u, delta, A, B, C = (t.to(f) for t in (u, delta, A, B, C))
    if delta_bias is not None:
        delta = delta + delta_bias.to(f)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, length = u.shape
    h = (
        initial_state.to(f)
        if initial_state is not None
        else u.new_zeros(batch, dim, A.shape[1], dtype=f)
    )
    ys = []
    for t in range(length):
        dt = delta[:, :, t, None]  # (batch, d_inner, 1)
        h = torch.exp(dt * A) * h + dt * B[:, None, :, t] * u[:, :, t, None]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, t]))
    y = torch.stack(ys, dim=-1) if ys else u.new_zeros(batch, dim, 0)
    if D is not None:
        y = y + u * D.to(f)[:, None]
    if z is not None:
        y = y * F.silu(z.to(f))
    y = y.to(out_dtype)
    return (y, h) if return_last_state else y


_SIGNATURE = inspect.signature(selective_scan_ref)
_NAMES = tuple(_SIGNATURE.parameters)
_DEFAULTS = {n: p.default for n, p in _SIGNATURE.parameters.items() if p.default is not p.empty}


def scan_arguments(args: tuple, kwargs: dict[str, Any]) -> tuple[ScanInputs, bool, bool]:
    """A backend's call, bound as a call of `selective_scan_ref` (the contract's one signature;
    TypeError as for it): (the checked inputs, delta_softplus, return_last_state)."""
    # by hand: Signature.bind costs several times more than the checks, on every layer's call
    given = {**_DEFAULTS, **dict(zip(_NAMES, args, strict=False)), **kwargs}
    positional_again = any(name in kwargs for name in _NAMES[: len(args)])
    if len(args) > len(_NAMES) or given.keys() != set(_NAMES) or positional_again:
        _SIGNATURE.bind(*args, **kwargs)  # raises the TypeError a call of the reference would
    inputs = ScanInputs(*(given[name] for name in ScanInputs._fields))
    check_scan_inputs(inputs)
    return inputs, given["delta_softplus"], given["return_last_state"]
