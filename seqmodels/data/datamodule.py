"""The base of every data module: the checks of the options they share, and their loaders.

Every task's data module takes `batch_size`, `num_workers`, `split` and the run's `seed`, checks
them the same way (a one-line UserError naming the option), and reads its datasets through
ResumableLoader (seqmodels.data.loaders): split across DDP ranks, resumable mid-epoch (its
`state_dict` goes into Lightning's checkpoints), worker processes kept alive across epochs when
`num_workers` > 0 (`auto`: loader processes on a GPU machine, none on the CPU), pinned memory on
a GPU machine. A subclass makes `train_dataset`,
`val_dataset` and `test_dataset` in `setup` and says, with the class attributes below, how its
items become batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import lightning as L
import torch
from torch.utils.data import Dataset

from seqmodels.data.loaders import ResumableLoader
from seqmodels.data.splits import check_split
from seqmodels.errors import UserError


def check_count(key: str, value: object, minimum: int = 1) -> int:
    """A whole number >= minimum for data.`key`, else a UserError."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        bound = "0 or more" if minimum == 0 else f"at least {minimum}"
        raise UserError(f"data.{key} must be {bound}, got {value!r}")
    return int(value)


AUTO_WORKERS_MAX = 4  # enough to keep a GPU fed with windows cut from memory-mapped files


def worker_count(value: object) -> int:
    """data.num_workers: a count (0: the main process loads), or "auto": with a GPU, up to
    AUTO_WORKERS_MAX loader processes (a core left to the main one), so the next batches are
    ready while the GPU runs a step; without one, none, because on the CPU the same cores do
    the model's arithmetic and loader processes would only compete with it for them."""
    if value == "auto":
        if not torch.cuda.is_available():
            return 0
        return max(1, min(AUTO_WORKERS_MAX, (os.cpu_count() or 2) - 1))
    if isinstance(value, str):
        raise UserError(f"data.num_workers must be a whole number or auto, got {value!r}")
    return check_count("num_workers", value, minimum=0)


def check_counts(**values: object) -> None:
    """check_count for every data.`key`=value given, each at least 1."""
    for key, value in values.items():
        check_count(key, value)


def check_fraction(key: str, value: object) -> float:
    """A number between 0 and 1 for data.`key`, else a UserError."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise UserError(f"data.{key} must be between 0 and 1, got {value!r}")
    return float(value)


def check_seed(seed: object) -> int:
    """The run's seed: a whole number >= 0 (numpy's generators take no negative seeds)."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise UserError(f"seed must be a whole number, 0 or more, got {seed!r}")
    return int(seed)


class DataModule(L.LightningDataModule):
    """Checked `batch_size`, `num_workers`, `split` (as `self.split`, three floats) and `seed`,
    and the train/val/test loaders over the datasets `setup` makes.

    `train_required`: the train fraction of `split` must be above 0 (splits carved from the
    training data).
    """

    #: how items become a batch (None: torch's default collation of equal-shaped items)
    collate_fn: Callable | None = None
    #: training items are whole batches already (the loader does not batch them)
    train_items_are_batches: bool = False
    #: training items are fixed, so the loader reads them in a new seeded order every epoch
    #: (datasets of random items need no shuffling: they draw new items every epoch)
    shuffle_training: bool = False

    def __init__(
        self,
        batch_size: int,
        num_workers: int,
        split: Sequence[float],
        seed: int,
        train_required: bool = False,
    ) -> None:
        super().__init__()
        self.batch_size = check_count("batch_size", batch_size)
        self.num_workers = worker_count(num_workers)
        self.split = check_split(split, train_required=train_required)
        self.seed = check_seed(seed)
        self.train_dataset: Dataset | None = None
        self.val_dataset: Dataset | None = None
        self.test_dataset: Dataset | None = None

    def train_dataloader(self) -> ResumableLoader:
        return self.loader(self.train_dataset, training=True)

    def val_dataloader(self) -> ResumableLoader:
        return self.loader(self.val_dataset, training=False)

    def test_dataloader(self) -> ResumableLoader:
        return self.loader(self.test_dataset, training=False)

    def loader(self, dataset: Dataset | None, training: bool) -> ResumableLoader:
        """The loader of one split: training gives every DDP rank as many items (see loaders)."""
        if dataset is None:
            raise RuntimeError("call setup() with the matching stage before asking for a loader")
        whole_batches = training and self.train_items_are_batches
        return ResumableLoader(
            dataset,
            None if whole_batches else self.batch_size,
            training,
            self.num_workers,
            collate_fn=self.collate_fn,
            shuffle_seed=self.seed if training and self.shuffle_training else None,
        )
