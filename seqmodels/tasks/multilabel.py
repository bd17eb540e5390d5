"""Multi-label classification as a LightningModule: several yes/no labels per sequence, one
logit each, binary cross-entropy; AUROC and AUPRC per label and their means (macro)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from seqmodels.tasks.metrics import PerTargetMetrics, multilabel_metrics
from seqmodels.tasks.per_target import PerTargetTask


class MultilabelTask(PerTargetTask):
    def build_metrics(self, names: list[str], stage: str) -> PerTargetMetrics:
        return multilabel_metrics(names, stage)

    def model_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """(loss, label probabilities (B, labels), 0/1 labels (B, labels) as integers)."""
        logits = self(batch["tokens"]).float()
        labels = batch["label"]
        loss = F.binary_cross_entropy_with_logits(logits, labels.float())
        return loss, logits.detach().sigmoid(), labels.long()
