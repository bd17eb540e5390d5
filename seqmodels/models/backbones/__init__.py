"""The backbone variants `model.variant` selects, and what a fine-tuned model's weights need.

    causal          MambaBackbone (backbone.py): reads left to right; state, step, generation
    bidirectional   BidirectionalBackbone (bidirectional.py): BiMamba, both directions per block
    rc_equivariant  RCEquivariantBackbone (rc_equivariant.py): the causal backbone on both strands

All three take (batch, L) token ids and offer `encode(ids, mask)` → (batch, L, d_model).
"""

from __future__ import annotations

from torch import Tensor, nn

from seqmodels.models.backbones.bidirectional import BidirectionalBackbone, from_causal_state
from seqmodels.models.backbones.causal import MambaBackbone
from seqmodels.models.backbones.rc_equivariant import RCEquivariantBackbone
from seqmodels.models.config import ModelConfig

BACKBONES: dict[str, type[nn.Module]] = {
    "causal": MambaBackbone,
    "bidirectional": BidirectionalBackbone,
    "rc_equivariant": RCEquivariantBackbone,
}

# causal and rc_equivariant backbones have the same weights (one causal backbone)
_CAUSAL_WEIGHTS = ("causal", "rc_equivariant")


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
