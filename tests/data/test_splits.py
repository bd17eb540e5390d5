"""The one check of data.split that every data module uses."""

import pytest

from seqmodels.data.splits import check_split
from seqmodels.errors import UserError


@pytest.mark.parametrize(
    "fractions", [(0.8, 0.1, 0.1), [1, 0, 0], (0.333, 0.333, 0.333), (0.5, 0.5, 0.0)]
)
def test_good_splits_become_three_floats(fractions):
    checked = check_split(fractions)
    assert checked == tuple(float(f) for f in fractions) and len(checked) == 3


@pytest.mark.parametrize(
    "fractions",
    [(0.8, 0.2), (0.5, 0.2, 0.2, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1), (0.9, 0.09, 0.0), ()],
)
def test_bad_splits_are_one_line(fractions):
    with pytest.raises(UserError, match=r"data.split=.*: give three fractions") as error:
        check_split(fractions)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("fractions", [0.5, None, ("a", 0.1, 0.1)])
def test_a_split_that_is_not_numbers_is_one_line(fractions):
    with pytest.raises(UserError, match="data.split=") as error:
        check_split(fractions)
    assert "\n" not in str(error.value)


def test_a_split_carved_from_train_needs_train():
    assert check_split((0.0, 0.5, 0.5)) == (0.0, 0.5, 0.5)
    with pytest.raises(UserError, match=r"\(train > 0, val, test >= 0\)"):
        check_split((0.0, 0.5, 0.5), train_required=True)
