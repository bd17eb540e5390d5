"""The bidirectional backbone (BiMamba, as in Caduceus): every block reads the sequence both ways.

Each block's mixer is a forward Mamba and a reversed one: the reversed mixer reads the sequence
from its end, and its output is flipped back and added to the forward one, so every position
sees the whole sequence. The two directions share their input and output projections (most of
a mixer's weights) and keep their own convolution, Δ/B/C projections, A and D, as in Caduceus;
the model has about 1.25 times the causal model's parameters for twice its scan work.

Sequences are right-padded with a mask; the reversed reader reverses each row's real tokens only
(see reverse.py), so padding never reaches a real token in either direction. A bidirectional
model sees the future, so it has no recurrent state and no language-model head; it is for
classifying whole sequences.
"""

from __future__ import annotations

from torch import Tensor, nn

from seqmodels.models.backbones.causal import init_weights
from seqmodels.models.block import Block, checkpointing_on, final_norm, run_block
from seqmodels.models.config import ModelConfig
from seqmodels.models.mixer import MambaMixer
from seqmodels.models.reverse import reverse_padded


class BidirectionalMixer(nn.Module):
    """`fwd` and `rev` Mamba mixers; `rev` is given `fwd`'s in/out projections (one set of weights,
    listed under both names in the state dict)."""

    def __init__(self, fwd: MambaMixer, rev: MambaMixer) -> None:
        super().__init__()
        rev.in_proj = fwd.in_proj
        rev.out_proj = fwd.out_proj
        self.fwd = fwd
        self.rev = rev
        self.d_model = fwd.d_model

    def forward(self, hidden: Tensor, mask: Tensor | None = None) -> Tensor:  # (B, L, D) → same
        forward, _ = self.fwd(hidden)
        backward, _ = self.rev(reverse_padded(hidden, mask))
        return forward + reverse_padded(backward, mask)


class BidirectionalBlock(Block):
    """A pre-norm residual block (block.py) around a BidirectionalMixer, passing the mask on."""

    def forward(
        self, hidden: Tensor, residual: Tensor | None, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        normed, residual = self._add_and_norm(hidden, residual)
        return self.mixer(normed, mask), residual


class BidirectionalBackbone(nn.Module):
    """Token embedding, bidirectional blocks and the final norm: ids (batch, L) → (batch, L, D)."""

    def __init__(self, config: ModelConfig, device=None, dtype=None) -> None:
        super().__init__()
        self.config = config
        factory = {"device": device, "dtype": dtype}
        self.embedding = nn.Embedding(config.padded_vocab_size, config.d_model, **factory)
        self.layers = nn.ModuleList(
            BidirectionalBlock(
                BidirectionalMixer(
                    MambaMixer(config.d_model, **config.mixer_kwargs(), **factory),
                    MambaMixer(config.d_model, **config.mixer_kwargs(), **factory),
                ),
                norm_eps=config.norm_eps,
                residual_in_fp32=config.residual_in_fp32,
            )
            for _ in range(config.n_layer)
        )
        self.norm_f = nn.RMSNorm(config.d_model, eps=config.norm_eps, **factory)
        init_weights(self, [layer.mixer.fwd.out_proj for layer in self.layers])

    def forward(self, input_ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """Token ids (batch, L), right-padded where `mask` (batch, L) is False → (batch, L, D)."""
        hidden, residual = self.embedding(input_ids), None
        checkpointed = checkpointing_on(self.config.checkpointing, self, input_ids.shape[1])
        for layer in self.layers:
            hidden, residual = run_block(layer, checkpointed, hidden, residual, mask)
        return final_norm(self.norm_f, hidden, residual)

    def encode(self, input_ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """Features of whole sequences for pooling (the backbones' common reading): forward."""
        return self(input_ids, mask)


def from_causal_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """A causal backbone's weights (state dict) laid out for a bidirectional one of the same shape:
    each block's forward and reversed mixers both start from the causal block's mixer, which is a
    closer start for reading DNA either way than random weights."""
    out = {}
    for key, value in state.items():
        head, sep, rest = key.partition(".mixer.")
        if sep:
            out[f"{head}.mixer.fwd.{rest}"] = value
            out[f"{head}.mixer.rev.{rest}"] = value
        else:
            out[key] = value
    return out
