"""Sequence classification as a LightningModule: loss, metrics per stage, optimiser and schedule.

`info` is the model card's dict (seqmodels.io.model_card: kind, backbone config, class names,
pooling, alphabet and window length). `optim` holds the optimiser settings of the run.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor
from torchmetrics.classification import MulticlassConfusionMatrix

from seqmodels.tasks.base import SequenceTask
from seqmodels.tasks.metrics import classification_metrics


class ClassificationTask(SequenceTask):
    def __init__(self, info: dict[str, Any], optim: dict[str, Any]) -> None:
        super().__init__(info, optim)
        num_classes = len(self.card.class_names)
        self.train_metrics = classification_metrics(num_classes, "train")
        self.val_metrics = classification_metrics(num_classes, "val")
        self.test_metrics = classification_metrics(num_classes, "test")
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        self.confusion: Tensor | None = None  # the last test run's matrix, for the plot

    def forward(self, tokens: Tensor) -> Tensor:  # (B, L) → (B, classes)
        mask = None if self.pad_id is None else tokens != self.pad_id
        return self.model(tokens, mask)

    def model_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """(loss, class probabilities (B, classes), labels (B,)); the metrics take probabilities."""
        logits = self(batch["tokens"])
        loss = F.cross_entropy(logits, batch["label"])
        return loss, logits.detach().float().softmax(dim=-1), batch["label"]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss, probs, labels = self.model_step(batch)
        self.train_metrics(probs, labels)
        self.log("train/loss", loss, prog_bar=True)
        self.log_dict(self.train_metrics, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        loss, probs, labels = self.model_step(batch)
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)  # DDP: the mean of all ranks
        if self._trainer is not None and self.trainer.sanity_checking:
            return  # two batches of class-sorted windows: metrics on them are noise (and warn)
        self.val_metrics(probs, labels)
        self.log_dict(self.val_metrics, prog_bar=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        loss, probs, labels = self.model_step(batch)
        self.test_metrics(probs, labels)
        self.test_confusion(probs, labels)
        self.log("test/loss", loss, sync_dist=True)
        self.log_dict(self.test_metrics)

    def on_test_epoch_end(self) -> None:
        self.confusion = self.test_confusion.compute().cpu()
        self.test_confusion.reset()
