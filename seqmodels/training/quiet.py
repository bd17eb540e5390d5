"""Lightning's messages that tell a seqmodels user nothing, silenced one by one by their exact
text so that every other warning and note still shows:

- a FutureWarning about `LeafSpec` that torch raises on every fit, validate and test because
  Lightning's CombinedLoader still builds one (Lightning's code, nothing a user can change);
- the "💡 Tip:" lines that advertise Lightning's cloud logger and cloud checkpoints.

The other Lightning notes at a fit (GPU available, the model summary, a logging interval longer
than an epoch) describe the run and stay.
"""

from __future__ import annotations

import logging
import warnings

LEAFSPEC_MESSAGE = r"`isinstance\(treespec, LeafSpec\)` is deprecated"
LEAFSPEC_MODULE = r"lightning\.pytorch\.utilities\._pytree"
TIP_PREFIX = "💡 Tip:"
# Lightning's notes go through the logger of whichever rank_zero module it imported last
RANK_ZERO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)


class _NoTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(TIP_PREFIX)


def quiet_lightning() -> None:
    """Silence the messages above (once per process; calling it again changes nothing)."""
    warnings.filterwarnings(
        "ignore", message=LEAFSPEC_MESSAGE, category=FutureWarning, module=LEAFSPEC_MODULE
    )
    for name in RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTips) for f in logger.filters):
            logger.addFilter(_NoTips())
