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

# causal: causal.py; bidirectional: bidirectional.py; rc_equivariant: rc_equivariant.py;
# hybrid (SSM and attention blocks) and transformer (attention blocks): causal.py with hybrid.py
VARIANTS = ("causal", "bidirectional", "rc_equivariant", "hybrid", "transformer")
# the variants that read left to right with a carried state: language models, step, generation
CAUSAL_VARIANTS = ("causal", "hybrid", "transformer")
# the variants whose blocks may be attention blocks (an rc_equivariant model is a causal reader
# of both strands, so its reader may be a hybrid: docs/attention.md)
ATTENTION_VARIANTS = ("hybrid", "transformer", "rc_equivariant")
# hybrid without attn_layers or attn_every: every second block is an attention block
DEFAULT_ATTN_EVERY = 2
# n_heads=auto: heads of this many channels (fewer when d_model is smaller)
AUTO_HEAD_DIM = 32


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

    # attention blocks (models/attention.py; docs/attention.md). hybrid: the blocks given by
    # attn_layers (0-based), or every attn_every-th counted back from the last block (default 2);
    # transformer: every block. attn_window: a sliding window of that many tokens, "full", or
    # "auto" (the training window length, which the task fills in)
    attn_layers: list[int] | None = None
    attn_every: int | None = None
    attn_window: int | str | None = "auto"
    n_heads: int | str = "auto"
    # the MLP's hidden width as a multiple of d_model; "auto": the width that gives an attention
    # block the parameters of an SSM block of this config, so that variants compare at equal size
    mlp_ratio: float | str = "auto"
    rope_base: float = 10000.0

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
        self._check_attention()
        multiple = self.pad_vocab_size_multiple
        self.padded_vocab_size = math.ceil(self.vocab_size / multiple) * multiple

    def _check_attention(self) -> None:
        placed = [name for name in ("attn_layers", "attn_every") if getattr(self, name) is not None]
        if placed and self.variant not in ATTENTION_VARIANTS:
            why = {
                "causal": "use model.variant=hybrid for SSM blocks with attention blocks",
                "bidirectional": "a bidirectional hybrid is not supported (its attention would "
                "read ahead, so a record could not be streamed with a carried state); use "
                "model.variant=rc_equivariant, whose causal hybrid reads both strands",
            }[self.variant]
            raise ValueError(f"model.{placed[0]}: {self.variant} has no attention blocks: {why}")
        if self.variant == "transformer" and placed:
            raise ValueError(f"model.{placed[0]}: every block of a transformer is attention")
        if len(placed) == 2:
            raise ValueError("model.attn_layers and model.attn_every: set one of them, not both")
        if self.attn_every is not None and (
            not isinstance(self.attn_every, int) or self.attn_every < 1
        ):
            raise ValueError(f"model.attn_every={self.attn_every}: expected a whole number >= 1")
        if self.attn_layers is not None:
            layers = self.attn_layers
            if not isinstance(layers, list | tuple) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in layers
            ):
                raise ValueError(f"model.attn_layers={layers}: expected block numbers, e.g. [1,3]")
            outside = [i for i in layers if not 0 <= i < self.n_layer]
            if outside:
                raise ValueError(
                    f"model.attn_layers={layers}: block {outside[0]} is outside the depth "
                    f"(n_layer={self.n_layer}: blocks 0 to {self.n_layer - 1})"
                )
            self.attn_layers = sorted(set(layers))
        window = self.attn_window
        if window is None:
            self.attn_window = window = "full"
        if window not in ("auto", "full") and (
            isinstance(window, bool) or not isinstance(window, int) or window < 1
        ):
            raise ValueError(
                f"model.attn_window={window!r}: expected a positive whole number of tokens, "
                "full, or auto (the training window length)"
            )
        heads = self.n_heads
        if heads != "auto" and (isinstance(heads, bool) or not isinstance(heads, int) or heads < 1):
            raise ValueError(f"model.n_heads={heads!r}: expected a whole number >= 1 or auto")
        ratio = self.mlp_ratio
        if ratio != "auto" and (
            isinstance(ratio, bool) or not isinstance(ratio, int | float) or not ratio > 0
        ):
            raise ValueError(f"model.mlp_ratio={ratio!r}: expected a number > 0 or auto")
        if self.attention_layers():
            if self.d_model % self.heads or (self.d_model // self.heads) % 2:
                raise ValueError(
                    f"model.n_heads={self.heads} must divide d_model={self.d_model} into heads "
                    "of an even size (rotary embeddings rotate pairs of channels)"
                )

    def attention_layers(self) -> list[int]:
        """The blocks (0-based) that are attention blocks; the rest are SSM blocks."""
        if self.variant == "transformer":
            return list(range(self.n_layer))
        if self.variant not in ATTENTION_VARIANTS:
            return []
        if self.attn_layers is not None:
            return list(self.attn_layers)
        every = self.attn_every
        if every is None:
            if self.variant != "hybrid":
                return []  # rc_equivariant without attention fields: the SSM model
            every = DEFAULT_ATTN_EVERY
        return [i for i in range(self.n_layer) if (self.n_layer - 1 - i) % every == 0]

    @property
    def heads(self) -> int:
        if self.n_heads == "auto":
            return max(1, self.d_model // AUTO_HEAD_DIM)
        return self.n_heads

    @property
    def window(self) -> int | None:
        """The attention window in tokens, None for full attention."""
        if self.attn_window == "auto":
            raise ValueError(
                "model.attn_window=auto is the training window length, which the task fills in: "
                "set model.attn_window to a number of tokens, or full"
            )
        return None if self.attn_window == "full" else self.attn_window

    def with_window(self, train_len: int) -> ModelConfig:
        """This config with attn_window=auto resolved to the training window length."""
        if self.attn_window != "auto" or not self.attention_layers():
            return self
        return ModelConfig.from_dict({**self.to_dict(), "attn_window": int(train_len)})

    def ssm_block_params(self) -> int:
        """The parameters of one SSM block (mixer.py and its norm)."""
        D, ED, N, R = self.d_model, self.d_inner, self.d_state, self.dt_rank
        in_proj = D * 2 * ED + (2 * ED if self.bias else 0)
        conv = ED * self.d_conv + (ED if self.conv_bias else 0)
        out_proj = ED * D + (D if self.bias else 0)
        return in_proj + conv + ED * (R + 2 * N) + R * ED + ED + out_proj + ED * N + ED + D

    @property
    def mlp_hidden(self) -> int:
        """The MLP's hidden width: mlp_ratio · d_model, or with auto the width (a multiple of 8)
        at which an attention block has about the parameters of an SSM block."""
        D = self.d_model
        if self.mlp_ratio != "auto":
            return max(1, round(self.mlp_ratio * D))
        attention = 4 * D * D + (4 * D if self.bias else 0) + 2 * D  # q, k, v, out; two norms
        per_hidden = 2 * D + (1 if self.bias else 0)
        rest = self.ssm_block_params() - attention - (D if self.bias else 0)
        return max(8, round(rest / per_hidden / 8) * 8)

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
