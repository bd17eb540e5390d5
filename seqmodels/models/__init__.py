"""nn.Modules only: the config, the Mamba mixer, blocks, the backbone variants, task heads, and
streaming inference over sequences of any length."""

from seqmodels.models.backbone import BackboneState, MambaBackbone
from seqmodels.models.bidirectional import BidirectionalBackbone
from seqmodels.models.config import PRESETS, ModelConfig
from seqmodels.models.heads import LanguageModel, SequenceClassifier, pool
from seqmodels.models.mixer import MambaMixer, MixerState
from seqmodels.models.rc_equivariant import RCEquivariantBackbone
from seqmodels.models.reverse import reverse_complement_ids, reverse_padded
from seqmodels.models.streaming import stream_classify, stream_pool
from seqmodels.models.variants import BACKBONES, build_backbone, convert_backbone_state

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
    "build_backbone",
    "convert_backbone_state",
    "pool",
    "reverse_complement_ids",
    "reverse_padded",
    "stream_classify",
    "stream_pool",
]
