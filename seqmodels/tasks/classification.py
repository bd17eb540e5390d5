"""Sequence classification as a LightningModule: loss, metrics per stage, optimiser and schedule.

`info` describes the model for export (config.json): kind, backbone config, class names, pooling,
alphabet and window length. `optim` holds the optimiser settings of the run.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.classification import MulticlassConfusionMatrix

from seqmodels.tasks.export import build_model
from seqmodels.tasks.metrics import classification_metrics
from seqmodels.tasks.optim import build_optimizer, warmup_cosine


class ClassificationTask(L.LightningModule):
    def __init__(self, info: dict[str, Any], optim: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = build_model(info)
        self.pad_id = info.get("pad_id")
        num_classes = len(info["class_names"])
        self.train_metrics = classification_metrics(num_classes, "train")
        self.val_metrics = classification_metrics(num_classes, "val")
        self.test_metrics = classification_metrics(num_classes, "test")
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        self.confusion: Tensor | None = None  # the last test run's matrix, for the plot

    def forward(self, tokens: Tensor) -> Tensor:  # (B, L) → (B, classes)
        mask = None if self.pad_id is None else tokens != self.pad_id
        return self.model(tokens, mask)

    def model_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        logits = self(batch["tokens"])
        loss = F.cross_entropy(logits, batch["label"])
        return loss, logits.argmax(dim=-1), batch["label"]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss, preds, labels = self.model_step(batch)
        self.train_metrics(preds, labels)
        self.log("train/loss", loss, prog_bar=True)
        self.log_dict(self.train_metrics, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        loss, preds, labels = self.model_step(batch)
        self.val_metrics(preds, labels)
        self.log("val/loss", loss, prog_bar=True)
        self.log_dict(self.val_metrics, prog_bar=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        loss, preds, labels = self.model_step(batch)
        self.test_metrics(preds, labels)
        self.test_confusion(preds, labels)
        self.log("test/loss", loss)
        self.log_dict(self.test_metrics)

    def on_test_epoch_end(self) -> None:
        self.confusion = self.test_confusion.compute().cpu()
        self.test_confusion.reset()

    def configure_optimizers(self) -> dict[str, Any]:
        optim = self.hparams.optim
        optimizer = build_optimizer(self.model, optim["lr"], optim["weight_decay"], optim["betas"])
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = warmup_cosine(
            optimizer, min(optim["warmup_steps"], max(1, total // 10)), total, optim["min_lr_ratio"]
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_train_epoch_start(self) -> None:
        # Fresh training windows every epoch, the same on every run with the same seed.
        dataset = getattr(self.trainer.train_dataloader, "dataset", None)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.current_epoch)

    @torch.no_grad()
    def predict_proba(self, tokens: Tensor) -> Tensor:
        return self(tokens).softmax(dim=-1)
