"""The backbone's configuration: one dataclass, derived fields, and named presets.

Glossary (Mamba paper symbols → names here): D = d_model (residual width), E = expand,
ED = d_inner (channels of the scan), N = d_state (state size per channel), R = dt_rank (rank of
the Δ projection), d_conv = width of the depthwise causal convolution.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

# causal: backbone.py; bidirectional: bidirectional.py; rc_equivariant: rc_equivariant.py
VARIANTS = ("causal", "bidirectional", "rc_equivariant")


@dataclass
class ModelConfig:
    # sizes
    d_model: int = 128
    n_layer: int = 4
    vocab_size: int = 6
    pad_vocab_size_multiple: int = 8
    # the complement of each token id (DNA: A<->T, C<->G), for reverse-complement models and
    # test-time reverse-complement averaging; None for alphabets without one
    complement: list[int] | None = None

    # mixer (the selective SSM)
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int | str = "auto"
    dt_min: float = 1e-3
    dt_max: float = 0.1
    dt_init_floor: float = 1e-4
    conv_bias: bool = True
    bias: bool = False

    # blocks and backbone
    variant: str = "causal"
    norm_eps: float = 1e-5
    residual_in_fp32: bool = True

    # training only (no effect on the weights or the outputs): activation checkpointing per block
    # keeps each block's input and recomputes the block in the backward, so that activation
    # memory is one block's, not all blocks'; "auto" turns it on for training sequences longer
    # than CHECKPOINT_AUTO_ABOVE tokens (block.py)
    checkpointing: bool | str = "auto"

    # derived in __post_init__
    d_inner: int = field(init=False)
    padded_vocab_size: int = field(init=False)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"model.variant={self.variant!r}: choose one of {', '.join(VARIANTS)}")
        for name in ("d_model", "n_layer", "vocab_size", "d_state", "d_conv", "expand"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if self.complement is not None:
            ids = list(range(self.vocab_size))
            if sorted(self.complement) != ids or any(
                self.complement[self.complement[i]] != i for i in ids
            ):
                raise ValueError(
                    f"model.complement must pair up the {self.vocab_size} token ids "
                    f"(a self-inverse permutation), got {self.complement}"
                )
        if self.checkpointing not in ("auto", True, False):
            raise ValueError(
                f"model.checkpointing={self.checkpointing!r}: choose auto, true or false"
            )
        if self.variant == "rc_equivariant" and self.complement is None:
            raise ValueError("model.variant=rc_equivariant needs an alphabet with a complement")
        self.d_inner = self.expand * self.d_model
        if self.dt_rank == "auto":
            self.dt_rank = math.ceil(self.d_model / 16)
        multiple = self.pad_vocab_size_multiple
        self.padded_vocab_size = math.ceil(self.vocab_size / multiple) * multiple

    def mixer_kwargs(self) -> dict[str, Any]:
        """The MambaMixer arguments besides d_model."""
        names = ("d_state", "d_conv", "expand", "dt_rank", "dt_min", "dt_max", "dt_init_floor")
        return {name: getattr(self, name) for name in (*names, "conv_bias", "bias")}

    def to_dict(self) -> dict[str, Any]:
        """The constructor arguments (derived fields left out), for config.json."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; valid keys: {sorted(known)}")
        return cls(**values)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ModelConfig:
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; presets: {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})


PRESETS: dict[str, dict[str, Any]] = {
    # trains on two CPU cores in minutes (the bundled species task)
    "dna-tiny": dict(d_model=64, n_layer=2),
    "dna-small": dict(d_model=128, n_layer=4),
    "dna-base": dict(d_model=256, n_layer=8),
    "audio-small": dict(d_model=64, n_layer=4, vocab_size=256),
    # the published Mamba language-model sizes
    "mamba-130m": dict(d_model=768, n_layer=24, vocab_size=50277),
    "mamba-370m": dict(d_model=1024, n_layer=48, vocab_size=50277),
}
