"""Regression of one or several numeric targets per sequence as a LightningModule.

The model (seqmodels.models.heads.SequenceRegressor) predicts standardised targets, with the
training data's mean and std from the model card; the loss (`loss`: mse, or huber, which a few
outlying values pull less) is taken in those standard units, and the metrics (Pearson, Spearman,
R² per target) and the test predictions are in the data's own units.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from seqmodels.errors import UserError
from seqmodels.tasks.metrics import PerTargetMetrics, regression_metrics
from seqmodels.tasks.per_target import PerTargetTask

LOSSES = {"mse": F.mse_loss, "huber": F.huber_loss}  # huber: quadratic within 1 std, then linear


class RegressionTask(PerTargetTask):
    def __init__(self, info: dict[str, Any], optim: dict[str, Any], loss: str = "mse") -> None:
        if loss not in LOSSES:
            raise UserError(f"task.loss={loss}: choose one of {', '.join(LOSSES)}")
        super().__init__(info, optim)
        self.loss_fn = LOSSES[loss]

    def build_metrics(self, names: list[str], stage: str) -> PerTargetMetrics:
        return regression_metrics(names, stage)

    def model_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        tokens, targets = batch["tokens"], batch["label"].float()  # targets: (B, targets)
        mask = None if self.pad_id is None else tokens != self.pad_id
        standard = self.model.standardised(tokens, mask).float()
        loss = self.loss_fn(standard, (targets - self.model.mean) / self.model.std)
        preds = self.model.mean + self.model.std * standard.detach()
        return loss, preds, targets
