"""The train/validation/test split every data module cuts: its names and the check of data.split.

Data modules split differently (DNA records by region, audio by file, labelled tables by
sequence), but all read the same `data.split`: three fractions, train, val and test, each 0 or
more, adding up to 1. `check_split` is the one place that says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from seqmodels.errors import UserError

SPLITS = ("train", "val", "test")
TOLERANCE = 1e-3  # thirds written as 0.333 or 0.3333 add up to 1 closely enough


def check_split(fractions: Sequence[float], *, train_required: bool = False) -> tuple[float, ...]:
    """data.split as three floats (train, val, test); a UserError unless each is >= 0 and they
    sum to 1. `train_required`: the train fraction must be above 0 as well (a split carved out of
    the training data leaves nothing to train on otherwise)."""
    train = "train > 0, val, test >= 0" if train_required else "train, val, test >= 0"
    try:
        values = tuple(float(fraction) for fraction in fractions)
    except (TypeError, ValueError):
        raise UserError(
            f"data.split={fractions!r}: give three fractions ({train}) that sum to 1"
        ) from None
    if (
        len(values) != 3
        or min(values) < 0
        or (train_required and values[0] == 0)
        or abs(sum(values) - 1) > TOLERANCE
    ):
        raise UserError(f"data.split={list(values)}: give three fractions ({train}) that sum to 1")
    return values
