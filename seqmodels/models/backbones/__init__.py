"""The backbone variants `model.variant` selects, and what a fine-tuned model's weights need.

    causal          MambaBackbone (causal.py): reads left to right; state, step, generation
    hybrid          MambaBackbone with attention blocks among the SSM blocks (hybrid.py)
    transformer     MambaBackbone with attention blocks only (hybrid.py)
    bidirectional   BidirectionalBackbone (bidirectional.py): BiMamba, both directions per block
    rc_equivariant  RCEquivariantBackbone (rc_equivariant.py): the causal backbone on both strands

All take (batch, L) token ids and offer `encode(ids, mask)` → (batch, L, d_model).
"""

from __future__ import annotations

from torch import Tensor, nn

from seqmodels.models.backbones.bidirectional import BidirectionalBackbone, from_causal_state
from seqmodels.models.backbones.causal import MambaBackbone
from seqmodels.models.backbones.hybrid import map_block_state
from seqmodels.models.backbones.rc_equivariant import RCEquivariantBackbone
from seqmodels.models.config import ModelConfig

BACKBONES: dict[str, type[nn.Module]] = {
    "causal": MambaBackbone,
    "bidirectional": BidirectionalBackbone,
    "rc_equivariant": RCEquivariantBackbone,
    "hybrid": MambaBackbone,
    "transformer": MambaBackbone,
}

# these backbones have the weights of one causal reader (rc_equivariant reads both strands with it)
_CAUSAL_WEIGHTS = ("causal", "rc_equivariant", "hybrid", "transformer")


def build_backbone(config: ModelConfig, device=None, dtype=None) -> nn.Module:
    return BACKBONES[config.variant](config, device=device, dtype=dtype)


def convert_backbone_state(state: dict[str, Tensor], source: str, target: str) -> dict[str, Tensor]:
    """A backbone's weights (state dict) of variant `source` laid out for variant `target`.

    Causal weights serve every variant; a bidirectional backbone's serve only another
    bidirectional one (its reversed mixers have no place in a causal model).
    """
    if source == target or (source in _CAUSAL_WEIGHTS and target in _CAUSAL_WEIGHTS):
        return state
    if source in _CAUSAL_WEIGHTS and target == "bidirectional":
        return from_causal_state(state)
    raise ValueError(f"a {source} backbone cannot initialise a {target} one")


def map_backbone_state(
    state: dict[str, Tensor], have: ModelConfig, want: ModelConfig
) -> tuple[dict[str, Tensor], list[int]]:
    """convert_backbone_state between configs, block by block when either reader has attention
    blocks: the weights for `want`, and the blocks of `want` they leave new (hybrid.py)."""
    new: list[int] = []
    if have.variant in _CAUSAL_WEIGHTS and (have.attention_layers() or want.attention_layers()):
        if want.variant not in _CAUSAL_WEIGHTS:
            raise ValueError(f"a {have.variant} backbone cannot initialise a {want.variant} one")
        state, new = map_block_state(state, have, want)
        return state, new
    return convert_backbone_state(state, have.variant, want.variant), new
