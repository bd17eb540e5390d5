"""task=dna_species: which genome a DNA window comes from (one class per FASTA file)."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from seqmodels.data.dna.species import DnaSpeciesDataModule
from seqmodels.data.token_budget import KEYS, data_plan
from seqmodels.io.model_card import ModelCard
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import dna_classifier_card, trained_classifier_card


def build_datamodule(cfg: DictConfig) -> DnaSpeciesDataModule:
    data = OmegaConf.to_container(cfg.data, resolve=True)
    rows, _ = data_plan(data)  # the batch that fits data.max_batch_tokens (token_budget.py)
    for key in KEYS:
        data.pop(key, None)
    return DnaSpeciesDataModule(**{**data, "batch_size": rows}, seed=cfg.seed)


def build_module(
    cfg: DictConfig, datamodule: DnaSpeciesDataModule, card: ModelCard | None = None
) -> ClassificationTask:
    if card is None:
        card = dna_classifier_card(cfg, datamodule.class_names, cfg.data.seq_len)
    else:
        card = trained_classifier_card(cfg, card, datamodule.class_names)
    return ClassificationTask(card.to_dict(), OmegaConf.to_container(cfg.optim, resolve=True))
