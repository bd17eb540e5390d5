"""Classification metrics: the per-stage collection and the per-class report."""

import numpy as np
import pytest
import torch

from seqmodels.tasks.metrics import classification_metrics, per_class_report


def test_collection_takes_probabilities_and_reports_auroc():
    metrics = classification_metrics(3, "test")
    probs = torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    metrics(probs, torch.tensor([0, 1, 2, 2]))  # accumulates; the values are the epoch's
    values = metrics.compute()
    assert set(values) == {"test/acc", "test/f1", "test/mcc", "test/auroc"}
    assert float(values["test/acc"]) == pytest.approx(0.75)
    assert float(values["test/auroc"]) == pytest.approx(1.0)  # every class ranked perfectly


def test_per_class_report_from_a_confusion_matrix():
    matrix = np.array([[3, 1, 0], [0, 2, 0], [0, 2, 0]])  # rows: true class
    rows = per_class_report(matrix, ["a", "b", "c"])
    assert [row["support"] for row in rows] == [4, 2, 2]
    assert rows[0]["precision"] == 1.0 and rows[0]["recall"] == 0.75
    assert rows[1]["precision"] == 0.4 and rows[1]["recall"] == 1.0
    assert rows[1]["f1"] == pytest.approx(2 * 0.4 / 1.4)
    assert rows[2] == {"class": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
