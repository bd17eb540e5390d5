"""The configuration keys whose value is one of a fixed set, and where each set is defined.

The sets live with the code that acts on them (the poolings beside `pool`, the backbone variants
in their registry, the fault modes beside the guard); this table only says which key each one
constrains, so that the override checker (seqmodels.overrides) refuses a value when the
configuration is composed, before any data is read.
"""

from __future__ import annotations

from seqmodels.models.backbones import BACKBONES
from seqmodels.models.heads import POOLINGS
from seqmodels.training.guards import MODES


def config_choices() -> dict[str, tuple[str, ...]]:
    """{configuration key: the values it may take}."""
    return {
        "head.pooling": POOLINGS,
        "model.variant": tuple(BACKBONES),
        "nonfinite_loss": MODES,
    }
