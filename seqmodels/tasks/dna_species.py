"""task=dna_species: which genome a DNA window comes from (one class per FASTA file)."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqmodels.data.dna.species import DnaSpeciesDataModule
from seqmodels.data.token_budget import KEYS, data_plan
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import dna_classifier_info, trained_classifier_info


def build_datamodule(cfg: DictConfig) -> DnaSpeciesDataModule:
    data = OmegaConf.to_container(cfg.data, resolve=True)
    rows, _ = data_plan(data)  # the batch that fits data.max_batch_tokens (token_budget.py)
    for key in KEYS:
        data.pop(key, None)
    return DnaSpeciesDataModule(**{**data, "batch_size": rows}, seed=cfg.seed)


def build_module(
    cfg: DictConfig, datamodule: DnaSpeciesDataModule, info: dict[str, Any] | None = None
) -> ClassificationTask:
    if info is None:
        info = dna_classifier_info(cfg, datamodule.class_names, cfg.data.seq_len)
    else:
        info = trained_classifier_info(cfg, info, datamodule.class_names)
    return ClassificationTask(info, OmegaConf.to_container(cfg.optim, resolve=True))
