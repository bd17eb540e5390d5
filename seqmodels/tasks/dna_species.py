"""task=dna_species: which genome a DNA window comes from (one class per FASTA file)."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqmodels.data.dna_species import DnaSpeciesDataModule
from seqmodels.data.tokens import PAD_ID, VOCAB_SIZE
from seqmodels.errors import UserError
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import model_config


def build_datamodule(cfg: DictConfig) -> DnaSpeciesDataModule:
    return DnaSpeciesDataModule(**OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed)


def build_module(
    cfg: DictConfig, datamodule: DnaSpeciesDataModule, info: dict[str, Any] | None = None
) -> ClassificationTask:
    if info is None:
        info = {
            "kind": "classifier",
            "task": cfg.task.name,
            "model": model_config(cfg, vocab_size=VOCAB_SIZE).to_dict(),
            "class_names": list(datamodule.class_names),
            "pooling": cfg.head.pooling,
            "alphabet": "dna",
            "pad_id": PAD_ID,
            "seq_len": cfg.data.seq_len,
        }
    elif list(datamodule.class_names) != list(info["class_names"]):
        raise UserError(
            f"the model knows classes {info['class_names']} but the data has "
            f"{list(datamodule.class_names)}: evaluate it on the data it was trained for"
        )
    return ClassificationTask(info, OmegaConf.to_container(cfg.optim, resolve=True))
