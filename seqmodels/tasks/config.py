"""Reading the parts of a run's configuration that every task shares."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqmodels.errors import UserError
from seqmodels.models import ModelConfig


def model_config(cfg: DictConfig, **fixed: Any) -> ModelConfig:
    """The backbone config: the preset named in cfg.model, then every non-null field set there,
    then `fixed` (what the data decides, such as the vocabulary size)."""
    fields = {k: v for k, v in OmegaConf.to_container(cfg.model).items() if v is not None}
    preset = fields.pop("preset")
    try:
        return ModelConfig.preset(preset, **{**fields, **fixed})
    except (TypeError, ValueError) as error:
        raise UserError(f"model: {error}") from None
