"""The epoch of a dataset whose items change every epoch, as its DataLoader workers see it.

A training item is drawn from (seed, epoch, index), so a worker must know the epoch. Loaders keep
their workers alive across epochs (persistent_workers), and each worker holds a copy of the
dataset made when it started: an epoch kept in a plain attribute would stay 0 there for the whole
run, and every epoch would repeat the first one's items. `SharedEpoch` keeps it in one int64 of
shared memory instead, which the main process's `set_epoch` writes and every worker reads.
"""

from __future__ import annotations

from typing import Any

import torch


class SharedEpoch:
    """Mixin for a dataset: `set_epoch(epoch)` and `epoch`, shared with the loader's workers.

    Put it first among the bases (`class D(SharedEpoch, Dataset)`) and call `super().__init__`
    in the dataset's `__init__`: it passes every argument on to the next base, and makes the
    shared value there, before any worker copies the dataset.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    def set_epoch(self, epoch: int) -> None:
        """Draw the items of this epoch; the loader calls it before the epoch's first batch."""
        self._epoch.fill_(epoch)

    @property
    def epoch(self) -> int:
        return int(self._epoch)
