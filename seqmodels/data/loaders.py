"""The DataLoader every datamodule uses: split across DDP ranks, and resumable mid-epoch.

Datasets here are map-style and already random where they should be (a training item is drawn
from its index, seed and epoch), so a loader only has to decide which indices each process reads:
rank r of W reads r, r + W, r + 2W, ... Validation and test indices are not padded to a multiple
of W, so no item is counted twice; training gives every rank the same number of items, so that
all ranks take the same number of optimiser steps. A dataset of fixed items (a lab's labelled
sequences) is shuffled by the loader instead: a permutation drawn from (seed, epoch), the same
on every rank, which then reads its share of it.

Lightning saves a loader's `state_dict()` in its checkpoints; after a crash, `load_state_dict`
makes the next epoch iteration skip the batches the run had already consumed, so a resumed run
sees exactly the data an uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from seqmodels.errors import UserError


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class RankSampler(Sampler[int]):
    """This process's share of range(n) (of a permutation of it drawn from (shuffle_seed, epoch)
    when a seed is given), from position `skip` on (for a resumed epoch)."""

    def __init__(self, n: int, equal_shares: bool, shuffle_seed: int | None = None) -> None:
        self.n = n
        self.equal_shares = equal_shares
        self.shuffle_seed = shuffle_seed
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls it before every epoch
        self.epoch = epoch

    def _indices(self) -> Sequence[int]:
        rank, world = _rank_and_world()
        stop = self.n - self.n % world if self.equal_shares else self.n
        if self.shuffle_seed is None:
            return range(rank, stop, world)
        generator = torch.Generator().manual_seed(self.shuffle_seed * 1_000_003 + self.epoch)
        return torch.randperm(self.n, generator=generator)[:stop][rank::world].tolist()

    def __iter__(self) -> Iterator[int]:
        indices, self.skip = self._indices()[self.skip :], 0
        return iter(indices)

    def __len__(self) -> int:
        # the whole epoch's length, also while a resumed one yields only the rest: Lightning
        # counts the batches of an epoch from its start, and reads the length once per run
        return len(self._indices())


class ResumableLoader(DataLoader):
    """A DataLoader over a RankSampler that remembers how many batches of the epoch it gave.

    `batch_size=None`: the dataset's items are whole batches already. `shuffle_seed`: read the
    items in a new seeded order every epoch (datasets whose items are not random themselves).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None,
        training: bool,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        shuffle_seed: int | None = None,
    ) -> None:
        if num_workers < 0:
            raise UserError(f"data.num_workers must be 0 or more, got {num_workers}")
        super().__init__(
            dataset,
            batch_size=batch_size,
            sampler=RankSampler(len(dataset), equal_shares=training, shuffle_seed=shuffle_seed),
            num_workers=num_workers,
            collate_fn=collate_fn,
            persistent_workers=num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )
        self.batches_done = 0

    def __iter__(self) -> Iterator[Any]:
        if self.sampler.skip == 0:  # a new epoch, not the rest of a resumed one
            self.batches_done = 0
        if hasattr(self.dataset, "set_epoch"):  # the sampler knows the epoch, also on a restart
            self.dataset.set_epoch(self.sampler.epoch)
        for batch in super().__iter__():
            self.batches_done += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"batches_done": self.batches_done, "epoch": self.sampler.epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        # The epoch too: worker processes may fetch the first batches before Lightning sets it.
        self.sampler.epoch = state.get("epoch", self.sampler.epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.sampler.epoch)
        self.batches_done = state["batches_done"]
        if self.batches_done >= len(self):  # saved at the end of an epoch: the next starts anew
            self.batches_done = 0
        self.sampler.skip = self.batches_done * (self.batch_size or 1)
