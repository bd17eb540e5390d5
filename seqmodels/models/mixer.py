"""The Mamba mixer: the selective SSM layer, with a full-sequence forward and a one-token step.

Published parameterisation and initialisation (Gu & Dao 2023): in_proj → (x, z); depthwise causal
conv + SiLU on x; x_proj → (Δ low-rank, B, C); dt_proj → Δ with softplus; S4D-real A; D skip;
SiLU(z) gating; out_proj. The state (conv window and SSM state) can be carried between calls, so a
sequence processed in pieces gives the same output as one pass, and `step` decodes in O(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqmodels.kernels import (
    causal_conv1d,
    causal_conv1d_update,
    selective_scan,
    selective_state_update,
)


@dataclass
class MixerState:
    """What a mixer carries between calls."""

    conv: Tensor  # (batch, d_inner, d_conv - 1): the last inputs of the causal conv
    ssm: Tensor  # (batch, d_inner, d_state), fp32 (float64 for a float64 model): h of the scan


class MambaMixer(nn.Module):
    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        dt_min: float = 1e-3,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
        conv_bias: bool = True,
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.d_model = d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)

        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias, **factory)
        self.conv1d = nn.Conv1d(
            self.d_inner, self.d_inner, d_conv, groups=self.d_inner, bias=conv_bias, **factory
        )
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False, **factory)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **factory)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias, **factory)

        # Δ starts log-uniform in [dt_min, dt_max]: the bias is softplus⁻¹ of that sample, and the
        # weights are small so that Δ is set by the bias at first.
        nn.init.uniform_(self.dt_proj.weight, -(self.dt_rank**-0.5), self.dt_rank**-0.5)
        dt = torch.exp(
            torch.rand(self.d_inner, device=device) * (math.log(dt_max) - math.log(dt_min))
            + math.log(dt_min)
        ).clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.dt_proj.bias._no_reinit = True

        # S4D-real: A_n = -(n + 1), stored as log(-A) so A stays negative while training.
        A = torch.arange(1, d_state + 1, dtype=torch.float32, device=device).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(self.d_inner, device=device))
        for p in (self.A_log, self.D, self.dt_proj.bias):
            p._no_weight_decay = True

    def forward(
        self,
        hidden: Tensor,  # (batch, L, d_model)
        state: MixerState | None = None,
    ) -> tuple[Tensor, MixerState | None]:
        """Mix a sequence; with a state, start from it and return the state after the last token."""
        x, z = self._project_in(hidden)
        conv_weight = self.conv1d.weight[:, 0, :]  # (ED, d_conv)
        if state is None:
            x = causal_conv1d(x, conv_weight, self.conv1d.bias)
        else:
            x, conv_state = causal_conv1d(
                x, conv_weight, self.conv1d.bias, state.conv, return_final_state=True
            )
        x, dt, B, C = self._activate_and_project(x)
        scan = selective_scan(
            x,
            dt,
            self.A,
            B,
            C,
            D=self.D.float(),
            z=z,
            delta_bias=self.dt_proj.bias.float(),
            delta_softplus=True,
            initial_state=None if state is None else state.ssm,
            return_last_state=state is not None,
        )
        y, new_state = (scan, None) if state is None else (scan[0], MixerState(conv_state, scan[1]))
        return self._project_out(y), new_state

    # The three regions of `forward` between its kernels (conv, scan): plain torch, which
    # seqmodels.models.compiled can hand to torch.compile.
    def _project_in(self, hidden: Tensor) -> tuple[Tensor, Tensor]:
        """x and z (B, ED, L) each, in the conv's and the scan's layout, from hidden (B, L, D)."""
        return self.in_proj(hidden).transpose(1, 2).chunk(2, dim=1)

    def _activate_and_project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """SiLU of the conv's output (B, ED, L), and Δ, B and C from it (_ssm_inputs)."""
        x = F.silu(x)
        return x, *self._ssm_inputs(x.transpose(1, 2))

    def _project_out(self, y: Tensor) -> Tensor:  # (B, ED, L) → (B, L, D)
        return self.out_proj(y.transpose(1, 2))

    @property
    def A(self) -> Tensor:
        return -torch.exp(self.A_log.float())  # (ED, N)

    def _ssm_inputs(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Δ (before bias and softplus), B and C from x (..., L, ED), in the scan's layout."""
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = dt @ self.dt_proj.weight.t()  # (..., L, ED); the bias goes into the scan, fused
        return dt.transpose(-1, -2), B.transpose(-1, -2), C.transpose(-1, -2)

    def allocate_inference_cache(
        self, batch: int, device: torch.device | None = None, dtype: torch.dtype | None = None
    ) -> MixerState:
        """A zero state: decoding from it equals a forward with no state."""
        device = device or self.in_proj.weight.device
        dtype = dtype or self.in_proj.weight.dtype
        state_dtype = torch.float64 if dtype == torch.float64 else torch.float32
        return MixerState(
            conv=torch.zeros(batch, self.d_inner, self.d_conv - 1, device=device, dtype=dtype),
            ssm=torch.zeros(batch, self.d_inner, self.d_state, device=device, dtype=state_dtype),
        )

    def step(self, hidden: Tensor, state: MixerState) -> Tensor:
        """One token (batch, d_model) → (batch, d_model); updates `state` in place."""
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # (B, ED) each
        x = causal_conv1d_update(x, state.conv, self.conv1d.weight[:, 0, :], self.conv1d.bias)
        x = F.silu(x)
        # _ssm_inputs without its (L, ·) layout: on one token the transposes cost more than the math
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        y = selective_state_update(
            state.ssm,
            x,
            F.linear(dt, self.dt_proj.weight),  # (B, ED); the bias goes into the update, fused
            self.A,
            B,
            C,
            D=self.D.float(),
            z=z,
            dt_bias=self.dt_proj.bias.float(),
            dt_softplus=True,
        )
        return self.out_proj(y)
