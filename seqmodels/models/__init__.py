"""nn.Modules only: the config, the Mamba mixer, blocks, the backbone variants, task heads, and
streaming inference over sequences of any length."""

from seqmodels.models.backbones import BACKBONES, build_backbone, convert_backbone_state
from seqmodels.models.backbones.bidirectional import BidirectionalBackbone
from seqmodels.models.backbones.causal import BackboneState, MambaBackbone
from seqmodels.models.backbones.rc_equivariant import RCEquivariantBackbone
from seqmodels.models.config import PRESETS, ModelConfig
from seqmodels.models.heads import LanguageModel, SequenceClassifier, SequenceRegressor, pool
from seqmodels.models.mixer import MambaMixer, MixerState
from seqmodels.models.reverse import reverse_complement_ids, reverse_padded
from seqmodels.models.streaming import stream_classify, stream_pool

__all__ = [
    "BACKBONES",
    "PRESETS",
    "BackboneState",
    "BidirectionalBackbone",
    "LanguageModel",
    "MambaBackbone",
    "MambaMixer",
    "MixerState",
    "ModelConfig",
    "RCEquivariantBackbone",
    "SequenceClassifier",
    "SequenceRegressor",
    "build_backbone",
    "convert_backbone_state",
    "pool",
    "reverse_complement_ids",
    "reverse_padded",
    "stream_classify",
    "stream_pool",
]
