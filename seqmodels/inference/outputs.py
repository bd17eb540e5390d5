"""What the outputs of a DNA model mean, by the kind on its card: the one place that says how raw
model outputs become predictions, what their columns are called and how a prediction is written.

    kind        outputs (per row)               `predicted`                    value columns
    classifier  softmax of the logits: one      the class of the highest       p_<class> per class
                probability per class           probability
    multilabel  sigmoid of each logit: one      the labels of probability      p_<label> per label
                probability per label           >= 0.5, joined by ","; "."
                                                when there is none
    regressor   the values, in the data's       one target: the value itself   several targets:
                units (the model de-            (the column is the value);     predicted_<name>
                standardises them)              several: none (see right)      per target

A window's or record's BED line has the `predicted` text as its name, a score of 0-1000 from the
top probability (classifiers and multi-label models; 0 for regressors) and then one column per
class, label or target, named by it. A record's outputs over several windows are the mean of its
windows' (probabilities, or values for a regressor), and its `predicted` comes from that mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard

KINDS = ("classifier", "regressor", "multilabel")  # the kinds a predict command reads
THRESHOLD = 0.5  # a multi-label model predicts a label at this probability or above
NO_LABEL = "."  # a multi-label prediction of no label at all (BED's empty name)


def require_predictable(card: ModelCard, what: str) -> None:
    """A one-line UserError unless the card is a DNA classifier, regressor or multi-label model."""
    if card.kind in KINDS and card.alphabet == "dna":
        return
    where = f"{card.source}: " if card.source else ""
    raise UserError(
        f"{where}not a DNA classifier, regression or multi-label model but {card.describe()}: "
        f"{what} needs one from `seqmodels fit task=dna_classify` (or task=dna_species)"
    )


@dataclass(frozen=True)
class Outputs:
    """The meaning of a model's outputs, from its card (see the module docstring)."""

    kind: str
    names: tuple[str, ...]  # classes, labels or targets: one output each, in the model's order

    @classmethod
    def of(cls, card: ModelCard) -> Outputs:
        if card.kind not in KINDS:
            raise UserError(f"{card.describe()} has no outputs to predict")
        names = card.class_names if card.kind == "classifier" else card.target_names
        return cls(card.kind, tuple(names))

    def transform(self, raw: Tensor) -> np.ndarray:
        """Raw model outputs (batch, outputs) → float32 predictions: probabilities (softmax or
        sigmoid) or a regressor's values as they are."""
        raw = raw.float()
        if self.kind == "classifier":
            raw = raw.softmax(-1)
        elif self.kind == "multilabel":
            raw = torch.sigmoid(raw)
        return raw.cpu().numpy()

    @property
    def probabilities(self) -> bool:
        """Whether the outputs are probabilities (not a regressor's values)."""
        return self.kind != "regressor"

    @property
    def columns(self) -> list[str]:
        """The header of a prediction's columns in a table: `predicted`, then the values."""
        if self.kind == "regressor":
            if len(self.names) == 1:
                return ["predicted"]
            return [f"predicted_{name}" for name in self.names]
        return ["predicted", *(f"p_{name}" for name in self.names)]

    def cells(self, values: np.ndarray) -> list[str]:
        """The texts under `columns` of one prediction (outputs,)."""
        if self.kind == "regressor":
            return [number(v) for v in values]
        return [self.predicted(values), *(f"{p:.6f}" for p in values)]

    def predicted(self, values: np.ndarray) -> str:
        """The text of a prediction (outputs,): a class, the labels called, or the values."""
        if self.kind == "classifier":
            return self.names[int(np.argmax(values))]
        if self.kind == "multilabel":
            called = [name for name, p in zip(self.names, values, strict=True) if p >= THRESHOLD]
            return ",".join(called) or NO_LABEL
        return ",".join(number(v) for v in values)

    def top(self, values: np.ndarray) -> float | None:
        """The highest probability of a prediction; None for a regressor."""
        return float(np.max(values)) if self.probabilities else None

    def bed_score(self, values: np.ndarray) -> int:
        """BED's score column, 0-1000: the top probability; 0 for a regressor."""
        top = self.top(values)
        return 0 if top is None else round(1000 * top)

    def bed_cells(self, values: np.ndarray) -> list[str]:
        """The value columns of a BED line, one per class, label or target."""
        if self.kind == "regressor":
            return [number(v) for v in values]
        return [f"{p:.6f}" for p in values]


def number(value: float) -> str:
    """A regressor's value: 7 significant digits, float32's precision, whatever its scale."""
    return f"{float(value):.7g}"
