"""What regression and multi-label tasks share: one output per target, metrics per target at
each epoch's end, and every test prediction kept for the run's report and scatter plot.

A subclass says how a batch becomes (loss, predictions, targets) and which metrics to keep;
predictions and targets are (batch, targets), in the units the metrics and the report read
(regression: the data's units; multilabel: probabilities and 0/1 labels).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torchmetrics.aggregation import CatMetric

from seqmodels.tasks.base import SequenceTask
from seqmodels.tasks.metrics import PerTargetMetrics


class PerTargetTask(SequenceTask):
    def __init__(self, info: dict[str, Any], optim: dict[str, Any]) -> None:
        super().__init__(info, optim)
        names = self.card.target_names
        self.train_metrics = self.build_metrics(names, "train")
        self.val_metrics = self.build_metrics(names, "val")
        self.test_metrics = self.build_metrics(names, "test")
        self.test_preds, self.test_targets = CatMetric(), CatMetric()  # synced across ranks
        self.test_outputs: tuple[Tensor, Tensor] | None = None  # the last test run's, (n, targets)

    def build_metrics(self, names: list[str], stage: str) -> PerTargetMetrics:
        raise NotImplementedError

    def model_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """(loss, predictions (B, targets), targets (B, targets))."""
        raise NotImplementedError

    def forward(self, tokens: Tensor) -> Tensor:  # (B, L) → (B, targets)
        mask = None if self.pad_id is None else tokens != self.pad_id
        return self.model(tokens, mask)

    def _log_epoch(self, metrics: PerTargetMetrics, **options: Any) -> None:
        """Log the epoch's metrics and start the next epoch empty; nothing when no batch came."""
        if any(metric.update_count for metric in metrics.values()):
            self.log_dict(metrics.summary(), **options)
        metrics.reset()

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss, preds, targets = self.model_step(batch)
        self.train_metrics(preds, targets)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def on_train_epoch_end(self) -> None:
        self._log_epoch(self.train_metrics)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        loss, preds, targets = self.model_step(batch)
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)  # DDP: the mean of all ranks
        if self._trainer is not None and self.trainer.sanity_checking:
            return  # two batches: correlations and AUROC on them are noise
        self.val_metrics(preds, targets)

    def on_validation_epoch_end(self) -> None:
        if self._trainer is not None and self.trainer.sanity_checking:
            return
        self._log_epoch(self.val_metrics, prog_bar=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        loss, preds, targets = self.model_step(batch)
        self.test_metrics(preds, targets)
        self.test_preds.update(preds)
        self.test_targets.update(targets.float())
        self.log("test/loss", loss, sync_dist=True)

    def on_test_epoch_end(self) -> None:
        self._log_epoch(self.test_metrics)
        names = self.card.target_names
        preds = self.test_preds.compute().reshape(-1, len(names)).cpu()
        targets = self.test_targets.compute().reshape(-1, len(names)).cpu()
        self.test_outputs = preds, targets
        self.test_preds.reset()
        self.test_targets.reset()
