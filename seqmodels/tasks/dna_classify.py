"""task=dna_classify: a lab's labelled sequences (tables, BED, FASTA, class folders), any length."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from seqmodels.data.dna.classify import DnaClassifyDataModule
from seqmodels.io.model_card import ModelCard
from seqmodels.io.tables import print_counts
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import dna_classifier_card, trained_classifier_card


def build_datamodule(cfg: DictConfig) -> DnaClassifyDataModule:
    datamodule = DnaClassifyDataModule(
        **OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed
    )
    print_counts("labelled sequences", "class", datamodule.class_names, datamodule.counts())
    return datamodule


def build_module(
    cfg: DictConfig, datamodule: DnaClassifyDataModule, card: ModelCard | None = None
) -> ClassificationTask:
    if card is None:
        card = dna_classifier_card(cfg, datamodule.class_names, datamodule.max_len)
    else:
        card = trained_classifier_card(cfg, card, datamodule.class_names)
    return ClassificationTask(card.to_dict(), OmegaConf.to_container(cfg.optim, resolve=True))
