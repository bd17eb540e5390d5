"""task=dna_species: which genome a DNA window comes from (one class per FASTA file)."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqmodels.data.dna_species import DnaSpeciesDataModule
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import dna_classifier_info, trained_classifier_info


def build_datamodule(cfg: DictConfig) -> DnaSpeciesDataModule:
    return DnaSpeciesDataModule(**OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed)


def build_module(
    cfg: DictConfig, datamodule: DnaSpeciesDataModule, info: dict[str, Any] | None = None
) -> ClassificationTask:
    if info is None:
        info = dna_classifier_info(cfg, datamodule.class_names, cfg.data.seq_len)
    else:
        info = trained_classifier_info(cfg, info, datamodule.class_names)
    return ClassificationTask(info, OmegaConf.to_container(cfg.optim, resolve=True))
