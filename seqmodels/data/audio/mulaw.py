"""8-bit mu-law: the one place where waveforms become tokens and tokens become waveforms.

A waveform is float in [-1, 1] (values outside are clipped); a token is an integer in 0..255
(torchaudio's mu-law companding with 256 quantisation channels: fine steps near zero, coarse
ones near full scale, as in WaveNet and SaShiMi). Silence, 0.0, is token 128.
"""

from __future__ import annotations

import torch
import torchaudio.functional as AF
from torch import Tensor

CLASSES = 256
SILENCE = 128  # mu_law_encode(0.0)


def mu_law_encode(audio: Tensor) -> Tensor:
    """Waveform (...,) float → tokens (...,) int64 in 0..255."""
    return AF.mu_law_encoding(audio.float().clamp(-1.0, 1.0), CLASSES)


def mu_law_decode(tokens: Tensor) -> Tensor:
    """Tokens (...,) → waveform (...,) float32: the amplitude each token stands for."""
    return AF.mu_law_decoding(tokens, CLASSES).float()


def token_edges() -> Tensor:
    """(257,) float64: token k holds the amplitudes in [edges[k], edges[k + 1]), the outer edges
    being ∓inf. Decoding a half-integer token gives the boundary between two tokens, since the
    encoder rounds to the nearest one."""
    edges = AF.mu_law_decoding(torch.arange(CLASSES + 1, dtype=torch.float64) - 0.5, CLASSES)
    edges[0], edges[-1] = -torch.inf, torch.inf
    return edges


def token_features(dim: int) -> Tensor:
    """(256, dim) Fourier features of each token's place on the companded scale, u = 2k/255 - 1
    in [-1, 1]: cos and sin of π·j·u/2 for j = 1, 2, ... Tokens of nearby amplitudes get nearby
    vectors (each row has norm sqrt(dim / 2)), so an embedding that starts from them need not
    learn that the tokens are ordered."""
    u = torch.linspace(-1.0, 1.0, CLASSES)[:, None]
    angles = u * torch.pi * torch.arange(1, (dim + 1) // 2 + 1)[None] / 2  # (256, ceil(dim/2))
    return torch.cat([angles.cos(), angles.sin()], dim=1)[:, :dim]
