"""A pre-norm residual block around a mixer, with the residual stream kept in fp32.

As in Mamba: the block receives (hidden, residual), adds them, normalises with RMSNorm and mixes.
Keeping the running residual in fp32 avoids the precision loss of summing many bf16 updates.

Activation checkpointing (`run_block`): in training at long lengths, a backbone keeps only each
block's inputs (hidden and residual, 2 · L · d_model values) and recomputes the block during the
backward, so that the activations held at once are one block's instead of every block's (a
dna-tiny block holds ~5 GB at 2^20 tokens in fp32; its inputs 0.5 GB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from seqmodels.models.mixer import MambaMixer, MixerState


class Block(nn.Module):
    def __init__(self, mixer: MambaMixer, norm_eps: float = 1e-5, residual_in_fp32: bool = True):
        super().__init__()
        self.mixer = mixer
        self.norm = nn.RMSNorm(mixer.d_model, eps=norm_eps)
        self.residual_in_fp32 = residual_in_fp32

    def _add_and_norm(self, hidden: Tensor, residual: Tensor | None) -> tuple[Tensor, Tensor]:
        residual = hidden if residual is None else residual + hidden
        if self.residual_in_fp32:
            residual = residual.float()
        return self.norm(residual.to(self.norm.weight.dtype)), residual

    def forward(
        self,
        hidden: Tensor,  # (batch, L, d_model)
        residual: Tensor | None,  # (batch, L, d_model), fp32 when residual_in_fp32
        state: MixerState | None = None,
    ) -> tuple[Tensor, Tensor, MixerState | None]:
        normed, residual = self._add_and_norm(hidden, residual)
        hidden, state = self.mixer(normed, state)
        return hidden, residual, state

    def step(
        self, hidden: Tensor, residual: Tensor | None, state: MixerState
    ) -> tuple[Tensor, Tensor]:
        """One token (batch, d_model); updates `state` in place."""
        normed, residual = self._add_and_norm(hidden, residual)
        return self.mixer.step(normed, state), residual


# model.checkpointing=auto checkpoints blocks in training on sequences longer than this
CHECKPOINT_AUTO_ABOVE = 2**14


def checkpointing_on(setting: bool | str, module: nn.Module, length: int) -> bool:
    """Whether a backbone in this mode, with model.checkpointing=`setting`, checkpoints its blocks
    for a sequence of `length` tokens: only when gradients are being recorded in training."""
    if not (module.training and torch.is_grad_enabled()):
        return False
    return setting is True or (setting == "auto" and length > CHECKPOINT_AUTO_ABOVE)


def run_block(block: Callable[..., Any], checkpointed: bool, *args: Any) -> Any:
    """block(*args), recomputed in the backward instead of storing its activations if asked."""
    if checkpointed:
        return checkpoint(block, *args, use_reentrant=False)
    return block(*args)


def final_norm(norm: nn.RMSNorm, hidden: Tensor, residual: Tensor | None) -> Tensor:
    """The backbone's last residual add and norm (after the last block)."""
    residual = hidden if residual is None else residual + hidden
    return norm(residual.to(norm.weight.dtype))
