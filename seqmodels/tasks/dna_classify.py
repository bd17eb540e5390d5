"""task=dna_classify: a lab's labelled sequences (tables, BED, FASTA, class folders), any length."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from seqmodels.data.dna.classify import DnaClassifyDataModule
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import dna_classifier_info, trained_classifier_info


def build_datamodule(cfg: DictConfig) -> DnaClassifyDataModule:
    datamodule = DnaClassifyDataModule(
        **OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed
    )
    table = Table(title="labelled sequences")
    table.add_column("class")
    counts = datamodule.counts()
    for split in counts:
        table.add_column(split, justify="right")
    for i, name in enumerate(datamodule.class_names):
        table.add_row(name, *(str(counts[split][i]) for split in counts))
    Console().print(table)
    return datamodule


def build_module(
    cfg: DictConfig, datamodule: DnaClassifyDataModule, info: dict[str, Any] | None = None
) -> ClassificationTask:
    if info is None:
        info = dna_classifier_info(cfg, datamodule.class_names, datamodule.max_len)
    else:
        info = trained_classifier_info(cfg, info, datamodule.class_names)
    return ClassificationTask(info, OmegaConf.to_container(cfg.optim, resolve=True))
