"""Next-token language modeling as a LightningModule (DNA pretraining, raw-audio modeling).

The loss is the cross-entropy of each token given the ones before it, over the non-padding
targets; it is logged in nats (`<stage>/loss`), in bits per token (`<stage>/bits_per_<unit>`,
unit = "base" or "sample") and as perplexity. Epoch values are token-weighted means, so they do
not depend on how tokens fall into batches.
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MeanMetric

from seqmodels.tasks.base import SequenceTask


class LanguageModelTask(SequenceTask):
    def __init__(self, info: dict[str, Any], optim: dict[str, Any]) -> None:
        super().__init__(info, optim)
        self.unit = self.card.unit or "token"
        self.mean_loss = {stage: MeanMetric() for stage in ("train", "val", "test")}
        for stage, metric in self.mean_loss.items():
            self.add_module(f"{stage}_loss", metric)

    def forward(self, tokens: Tensor) -> Tensor:  # (B, L) → logits (B, L, V)
        return self.model(tokens)[0]

    def model_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """(mean loss in nats over the predicted tokens, number of predicted tokens)."""
        tokens = batch["tokens"]
        logits = self(tokens[:, :-1])
        targets = tokens[:, 1:]
        ignore = -100 if self.pad_id is None else self.pad_id
        loss = F.cross_entropy(logits.transpose(1, 2).float(), targets, ignore_index=ignore)
        count = targets.numel() if self.pad_id is None else int((targets != self.pad_id).sum())
        return loss, count

    def _step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        loss, count = self.model_step(batch)
        metric = self.mean_loss[stage]
        metric.update(loss.detach(), weight=count)
        on_step = stage == "train"
        self.log(f"{stage}/loss", metric, on_step=False, on_epoch=True, prog_bar=stage != "test")
        if on_step:
            self.log("train/step_loss", loss, prog_bar=True)
        return loss

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def _log_bits(self, stage: str) -> None:
        # Before Lightning resets the epoch's mean loss: the same value, in bits and perplexity.
        if self.mean_loss[stage].update_count:
            loss = float(self.mean_loss[stage].compute())
            self.log(f"{stage}/bits_per_{self.unit}", loss / math.log(2))
            self.log(f"{stage}/perplexity", math.exp(loss))

    def baseline_metrics(self, stage: str) -> dict[str, float]:
        """{metric name: value} of the baselines a task logs beside its own bits (none here)."""
        return {}

    def _log_epoch(self, stage: str) -> None:
        self._log_bits(stage)
        for name, value in self.baseline_metrics(stage).items():
            self.log(name, value)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")
