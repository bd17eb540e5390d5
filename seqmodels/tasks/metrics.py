"""Classification metrics, one collection per stage: accuracy, macro-F1 and MCC."""

from __future__ import annotations

from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MulticlassMatthewsCorrCoef,
)


def classification_metrics(num_classes: int, stage: str) -> MetricCollection:
    """Logged as `<stage>/acc`, `<stage>/f1`, `<stage>/mcc`."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
            "mcc": MulticlassMatthewsCorrCoef(num_classes),
        },
        prefix=f"{stage}/",
    )
