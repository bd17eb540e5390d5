"""Reversing right-padded sequences, for the models that also read a sequence backwards.

A batch of sequences of different lengths is right-padded, and a mask marks the real tokens
(a prefix of each row). Flipping whole rows would put the padding first, where a model reading
left to right would carry it into every real token. Here each row's real prefix is reversed
and its padding stays at the end, so a causal reader of the reversed rows never sees padding
before a real token, and padding cannot change a prediction.
"""

from __future__ import annotations

import torch
from torch import Tensor


def reverse_padded(x: Tensor, mask: Tensor | None) -> Tensor:
    """x (batch, L, ...) with the first mask[b].sum() positions of each row b reversed (whole rows
    when mask is None). Its own inverse."""
    if mask is None:
        return x.flip(1)
    lengths = mask.sum(1, keepdim=True)  # (B, 1)
    positions = torch.arange(x.shape[1], device=x.device)  # (L,)
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)  # (B, L)
    index = index.view(*index.shape, *[1] * (x.dim() - 2)).expand_as(x)
    return x.gather(1, index)


def reverse_complement_ids(ids: Tensor, mask: Tensor | None, complement: Tensor) -> Tensor:
    """The reverse complement of right-padded token ids (batch, L); `complement` (vocab,) maps each
    id to its complement's, and padding to itself."""
    return reverse_padded(complement[ids], mask)
