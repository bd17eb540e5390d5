"""What the labels of a labelled dataset are (task.target), and their texts as numbers.

    classification   one column of class names (any text)
    regression       one or several numeric columns (a value per target)
    multilabel       several columns of 0/1 (a sequence may belong to any number of them)

`task.target=auto` decides from the training labels when that is unambiguous:

- one column with a value that is not a number → classification;
- one column of numbers with a non-integer among them → regression;
- one column of whole numbers with at most MAX_AUTO_CLASSES distinct values → classification
  (0/1/2 are read as classes, and the summary says so; task.target=regression reads them as
  values); more distinct whole numbers could be class ids or counts: an error asks for
  task.target=;
- several columns, all 0/1 → multilabel; several numeric columns → regression; several columns
  with text in them → an error (a sequence has one class: name one label column).

Missing-value markers (NA, NaN, null, ...) do not make a numeric column text: the column is read
as numbers and the marker is then an error naming its line. Class folders and labelled FASTA are
classification only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from seqmodels.errors import UserError

TARGETS = ("auto", "classification", "regression", "multilabel")
MAX_AUTO_CLASSES = 10  # whole numbers with at most this many distinct values are class ids
MISSING = {"na", "nan", "n/a", "null", "none", "-", "?", "inf", "-inf", "+inf"}


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _columns(labels: Sequence[str | tuple[str, ...]], width: int) -> list[list[str]]:
    rows = [(label,) if isinstance(label, str) else label for label in labels]
    return [[row[i] for row in rows] for i in range(width)]


def infer_target(
    labels: Sequence[str | tuple[str, ...]], names: Sequence[str], source: str
) -> tuple[str, str]:
    """(target, why) from the training labels of columns `names`; `why` is for the summary."""
    columns = _columns(labels, len(names))
    present = [[t for t in column if t.lower() not in MISSING] for column in columns]
    numeric = [bool(column) and all(map(is_number, column)) for column in present]
    if len(names) > 1:
        text = [name for name, ok in zip(names, numeric, strict=True) if not ok]
        if text:
            raise UserError(
                f"{source}: label column {text[0]!r} holds text, and several label columns are "
                "read as numbers (task.target=regression or multilabel): name one class column "
                "in data.label_columns for classification"
            )
        if all(set(column) <= {"0", "1"} for column in columns):
            return "multilabel", f"columns {', '.join(names)} hold only 0 and 1"
        return "regression", f"columns {', '.join(names)} hold numbers"
    if not numeric[0]:
        return "classification", f"column {names[0]!r} holds text"
    values = np.array([float(t) for t in present[0]])
    if not np.all(values == np.round(values)):
        return "regression", f"column {names[0]!r} holds numbers that are not whole"
    distinct = len(set(values.tolist()))
    if distinct <= MAX_AUTO_CLASSES:
        return "classification", (
            f"column {names[0]!r} holds {distinct} distinct whole numbers (at most "
            f"{MAX_AUTO_CLASSES}): read as classes; task.target=regression reads them as values"
        )
    raise UserError(
        f"{source}: column {names[0]!r} holds {distinct} distinct whole numbers: class ids or "
        "values? say task.target=classification or task.target=regression"
    )


def check_target(target: str, source: str, fixed: bool) -> None:
    """`fixed`: the source is a class folder or a labelled FASTA, whose labels are classes."""
    if target not in TARGETS:
        raise UserError(f"task.target={target}: choose one of {', '.join(TARGETS)}")
    if fixed and target not in ("auto", "classification"):
        raise UserError(
            f"{source}: task.target={target} needs a table or BED file with numeric label "
            "columns: the labels of class folders and labelled FASTA are classes"
        )


def as_numbers(
    label: str | tuple[str, ...], names: Sequence[str], where: str, target: str
) -> np.ndarray:
    """A sequence's label texts as float32 numbers (targets,): finite for regression, 0 or 1
    for multilabel; anything else is a one-line error naming the file, the line and the column."""
    texts = (label,) if isinstance(label, str) else label
    out = np.empty(len(texts), dtype=np.float32)
    for i, (text, name) in enumerate(zip(texts, names, strict=True)):
        if target == "multilabel":
            if text not in ("0", "1"):
                raise UserError(
                    f"{where}: {text!r} in label column {name!r}: a multilabel column holds 0 "
                    "(not of that label) or 1 (of it)"
                )
            out[i] = float(text)
            continue
        try:
            value = float(text)
        except ValueError:
            raise UserError(
                f"{where}: {text!r} in label column {name!r} is not a number: a regression "
                "target needs a number in every row"
            ) from None
        if not math.isfinite(value):
            raise UserError(
                f"{where}: {text!r} in label column {name!r}: a regression target needs a "
                "finite number in every row (leave rows without a value out)"
            )
        out[i] = value
    return out
