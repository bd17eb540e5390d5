"""Metrics, one collection per stage: classification (accuracy, macro-F1, MCC, AUROC, and the
per-class report of a confusion matrix), regression (Pearson, Spearman, R² per target) and
multi-label classification (AUROC, AUPRC per label)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassF1Score,
    MulticlassMatthewsCorrCoef,
    MultilabelAUROC,
    MultilabelAveragePrecision,
)
from torchmetrics.regression import PearsonCorrCoef, R2Score, SpearmanCorrCoef


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


class PerTargetMetrics(EpochMetrics):
    """Epoch metrics of several outputs (targets or labels), each metric computed per output:
    `summary()` is {"<stage>/<metric>_<name>": value per output, "<stage>/<metric>": their
    mean}, or just "<stage>/<metric>" with one output. Updated with (batch, outputs) tensors;
    a task logs summary() at the epoch's end and resets."""

    def __init__(self, metrics: dict, names: list[str], stage: str, squeeze: bool = False) -> None:
        super().__init__(metrics)
        self.names = list(names)
        self.stage = stage
        self.squeeze = squeeze and len(names) == 1  # one-output regression metrics take (batch,)

    def update(self, preds: Tensor, target: Tensor) -> None:
        if self.squeeze:
            preds, target = preds[:, 0], target[:, 0]
        super().update(preds, target)

    def summary(self) -> dict[str, float]:
        out = {}
        for metric, values in self.compute().items():
            values = torch.atleast_1d(values.detach().float().cpu())
            if len(self.names) > 1:
                for name, value in zip(self.names, values.tolist(), strict=True):
                    out[f"{self.stage}/{metric}_{name}"] = value
            out[f"{self.stage}/{metric}"] = float(values.nanmean())
        return out


def _quietly(metric: type, **options: Any) -> Any:
    """A metric made without its warning that it keeps every prediction: Spearman's ranks need
    them, and a labelled dataset's epoch is small enough."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return metric(**options)


def regression_metrics(names: list[str], stage: str) -> PerTargetMetrics:
    """Pearson, Spearman and R² of each target (predictions and targets (batch, targets), in
    the same units): `<stage>/pearson`, `<stage>/spearman`, `<stage>/r2` (see PerTargetMetrics)."""
    n = len(names)
    metrics = {
        "pearson": PearsonCorrCoef(num_outputs=n),
        "spearman": _quietly(SpearmanCorrCoef, num_outputs=n),
        "r2": R2Score(multioutput="raw_values"),
    }
    return PerTargetMetrics(metrics, names, stage, squeeze=True)


def multilabel_metrics(names: list[str], stage: str) -> PerTargetMetrics:
    """AUROC and AUPRC (average precision) of each label, from probabilities and 0/1 labels
    (batch, labels): `<stage>/auroc`, `<stage>/auprc` (macro: the mean over labels)."""
    n = len(names)
    metrics = {
        "auroc": MultilabelAUROC(n, average=None),
        "auprc": MultilabelAveragePrecision(n, average=None),
    }
    return PerTargetMetrics(metrics, names, stage)


def per_target_report(
    preds: Tensor, target: Tensor, names: list[str], kind: str
) -> list[dict[str, str | float]]:
    """One row per target (regression: pearson, spearman, r2, n) or label (multilabel: auroc,
    auprc, positives, n), from every test prediction (n, outputs) and target (n, outputs)."""
    build = regression_metrics if kind == "regressor" else multilabel_metrics
    metrics = build(names, "test")
    labels = target if kind == "regressor" else target.long()
    metrics.update(preds.float(), labels)
    computed = metrics.compute()
    order = ("pearson", "spearman", "r2") if kind == "regressor" else ("auroc", "auprc")
    values = {m: torch.atleast_1d(computed[m]).float().tolist() for m in order}
    rows = []
    for i, name in enumerate(names):
        row: dict[str, str | float] = {"target": name}
        row.update({m: v[i] for m, v in values.items()})
        if kind != "regressor":
            row["positives"] = int(target[:, i].sum())
        row["n"] = len(target)
        rows.append(row)
    return rows
