"""Classification metrics: one collection per stage (accuracy, macro-F1, MCC, AUROC), and the
per-class report of a confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassF1Score,
    MulticlassMatthewsCorrCoef,
)


class EpochMetrics(MetricCollection):
    """A collection that only accumulates when called on a batch: its values are computed once,
    over the whole epoch, when Lightning logs it at the epoch's end (every stage logs these
    metrics per epoch only). Computing them on every batch as well, as torchmetrics' forward
    does, is wasted work, and a small batch misses classes, for which torchmetrics then warns
    that AUROC is meaningless; over a whole epoch that warning means what it says."""

    def forward(self, *args: Any, **kwargs: Any) -> None:
        self.update(*args, **kwargs)


def classification_metrics(num_classes: int, stage: str) -> EpochMetrics:
    """Logged as `<stage>/acc`, `<stage>/f1`, `<stage>/mcc`, `<stage>/auroc` (macro, one class
    against the rest); updated with class probabilities (batch, classes) and labels (batch,),
    read with compute()."""
    return EpochMetrics(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
            "mcc": MulticlassMatthewsCorrCoef(num_classes),
            "auroc": MulticlassAUROC(num_classes, average="macro"),
        },
        prefix=f"{stage}/",
    )


def per_class_report(matrix: np.ndarray, class_names: list[str]) -> list[dict[str, str | float]]:
    """Precision, recall, F1 and support of each class, from a confusion matrix whose rows are
    the true classes; a class never predicted (or never present) scores 0, not NaN."""
    matrix = np.asarray(matrix, dtype=np.float64)
    hits = np.diag(matrix)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(hits), where=total > 0)
    return [
        {"class": name, "precision": p, "recall": r, "f1": f, "support": int(n)}
        for name, p, r, f, n in zip(class_names, precision, recall, f1, support, strict=True)
    ]
