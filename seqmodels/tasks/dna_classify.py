"""task=dna_classify: a lab's labelled sequences (tables, BED, FASTA, class folders), any length;
the labels are classes, numbers (task.target=regression) or several 0/1 columns (multilabel)."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf, open_dict

from seqmodels.data.dna.classify import DnaClassifyDataModule
from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.io.tables import print_counts
from seqmodels.tasks.base import SequenceTask
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import (
    dna_classifier_card,
    dna_target_card,
    trained_classifier_card,
    trained_target_card,
)
from seqmodels.tasks.multilabel import MultilabelTask
from seqmodels.tasks.regression import RegressionTask

KINDS = {"regression": "regressor", "multilabel": "multilabel"}  # task.target → card kind
MONITORS = {"classification": "val/mcc", "regression": "val/pearson", "multilabel": "val/auroc"}


def build_datamodule(cfg: DictConfig) -> DnaClassifyDataModule:
    target = cfg.task.get("target") or "auto"
    datamodule = DnaClassifyDataModule(
        **OmegaConf.to_container(cfg.data, resolve=True), target=target, seed=cfg.seed
    )
    if datamodule.target != target:  # say what auto decided, and how to decide otherwise
        print(datamodule.target_reason)
    if cfg.task.get("monitor") is None:  # the checkpoint metric follows the kind of target
        with open_dict(cfg):
            cfg.task.monitor = MONITORS[datamodule.target]
    if datamodule.target == "classification":
        print_counts("labelled sequences", "class", datamodule.class_names, datamodule.counts())
    elif datamodule.target == "multilabel":
        print_counts(
            "sequences of each label", "label", datamodule.target_names, datamodule.counts()
        )
    else:
        print_counts("labelled sequences", "target", datamodule.target_names, datamodule.counts())
        stats = zip(
            datamodule.target_names, datamodule.target_mean, datamodule.target_std, strict=True
        )
        print(
            "standardised for training by the training data's "
            + "; ".join(f"{name}: mean {mean:.4g}, std {std:.4g}" for name, mean, std in stats)
        )
    return datamodule


def build_module(
    cfg: DictConfig, datamodule: DnaClassifyDataModule, card: ModelCard | None = None
) -> SequenceTask:
    optim = OmegaConf.to_container(cfg.optim, resolve=True)
    if datamodule.target == "classification":
        if card is None:
            card = dna_classifier_card(cfg, datamodule.class_names, datamodule.max_len)
        else:
            card = trained_classifier_card(cfg, card, datamodule.class_names)
        return ClassificationTask(card.to_dict(), optim)
    kind, names = KINDS[datamodule.target], datamodule.target_names
    if card is not None:
        card = trained_target_card(cfg, card, kind, names)
    elif kind == "regressor":
        mean, std = datamodule.target_mean.tolist(), datamodule.target_std.tolist()
        card = dna_target_card(cfg, kind, names, datamodule.max_len, mean, std)
    else:
        card = dna_target_card(cfg, kind, names, datamodule.max_len)
    if kind == "regressor":
        return RegressionTask(card.to_dict(), optim, loss=cfg.task.get("loss") or "mse")
    if (cfg.task.get("loss") or "bce") != "bce":
        raise UserError(f"task.loss={cfg.task.loss}: a multilabel task's loss is bce")
    return MultilabelTask(card.to_dict(), optim)
