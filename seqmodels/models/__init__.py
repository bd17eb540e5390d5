"""nn.Modules only: the config, the Mamba mixer, blocks, the backbone and task heads."""

from seqmodels.models.backbone import BackboneState, MambaBackbone
from seqmodels.models.config import PRESETS, ModelConfig
from seqmodels.models.heads import LanguageModel, SequenceClassifier, pool
from seqmodels.models.mixer import MambaMixer, MixerState

__all__ = [
    "PRESETS",
    "BackboneState",
    "LanguageModel",
    "MambaBackbone",
    "MambaMixer",
    "MixerState",
    "ModelConfig",
    "SequenceClassifier",
    "pool",
]
