"""The override checker reads each fixed set of choices from the module that defines it."""

import pytest

from seqmodels.cli import compose_config
from seqmodels.errors import UserError
from seqmodels.models import BACKBONES
from seqmodels.models.heads import POOLINGS
from seqmodels.training.choices import config_choices
from seqmodels.training.guards import MODES


def test_the_sets_are_the_defining_modules_own():
    choices = config_choices()
    assert choices["head.pooling"] is POOLINGS
    assert choices["nonfinite_loss"] is MODES
    assert choices["model.variant"] == tuple(BACKBONES)


@pytest.mark.parametrize(
    "override, expected",
    [
        ("head.pooling=max", "head.pooling=max: choose one of mean, last"),
        ("nonfinite_loss=ignore", "nonfinite_loss=ignore: choose one of stop, skip"),
        ("model.variant=sideways", "model.variant=sideways: choose one of causal, bidirectional"),
    ],
)
def test_a_value_outside_its_set_is_refused_when_composed(override, expected):
    with pytest.raises(UserError, match=expected):
        compose_config(["task=dna_species", override])
