"""The DataLoader every datamodule uses: split across DDP ranks, and resumable mid-epoch.

Datasets here are map-style and already random where they should be (a training item is drawn
from its index, seed and epoch), so a loader only has to decide which indices each process reads:
rank r of W reads r, r + W, r + 2W, ... Validation and test indices are not padded to a multiple
of W, so no item is counted twice; training gives every rank the same number of items, so that
all ranks take the same number of optimiser steps.

Lightning saves a loader's `state_dict()` in its checkpoints; after a crash, `load_state_dict`
makes the next epoch iteration skip the batches the run had already consumed, so a resumed run
sees exactly the data an uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class RankSampler(Sampler[int]):
    """This process's share of range(n), from position `skip` on (for a resumed epoch)."""

    def __init__(self, n: int, equal_shares: bool) -> None:
        self.n = n
        self.equal_shares = equal_shares
        self.skip = 0

    def _indices(self) -> range:
        rank, world = _rank_and_world()
        stop = self.n - self.n % world if self.equal_shares else self.n
        return range(rank, stop, world)

    def __iter__(self) -> Iterator[int]:
        indices, self.skip = self._indices()[self.skip :], 0
        return iter(indices)

    def __len__(self) -> int:
        return max(0, len(self._indices()) - self.skip)


class ResumableLoader(DataLoader):
    """A DataLoader over a RankSampler that remembers how many batches of the epoch it gave."""

    def __init__(
        self, dataset: Dataset, batch_size: int, training: bool, num_workers: int = 0
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            sampler=RankSampler(len(dataset), equal_shares=training),
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )
        self.batches_done = 0

    def __iter__(self) -> Iterator[Any]:
        if self.sampler.skip == 0:  # a new epoch, not the rest of a resumed one
            self.batches_done = 0
        for batch in super().__iter__():
            self.batches_done += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"batches_done": self.batches_done}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batches_done = state["batches_done"]
        self.sampler.skip = self.batches_done * self.batch_size
