"""Region splits of genome records and the window datasets cut from them.

Every record is split by region: the first 80% (by default) of its bases train, the next 10%
validate, the last 10% test. A window lies inside one region, so none straddles a boundary.
A class (one genome, possibly several records) samples its windows among all valid starts of
its regions, so each record counts in proportion to its usable length; regions shorter than a
window are skipped.

- `RandomWindowDataset` (training) draws a fresh random window per item from (seed, epoch,
  index) alone: reproducible, the same in any worker, and DDP ranks that read disjoint indices
  read different windows. `set_epoch` changes every window.
- `FixedWindowDataset` (validation, test) picks its windows once from a seed: the same on every
  machine and epoch, so metrics compare across epochs and runs.

Items are `{"tokens": LongTensor (seq_len,), "label": int}`. A window is a zero-copy slice of
the genome store until the one copy into the item's tensor, so seq_len = 2^20 costs nothing more
than that copy.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import N_ID, reverse_complement
from seqmodels.data.epoch import SharedEpoch
from seqmodels.data.splits import SPLITS, check_split
from seqmodels.errors import UserError

MAX_TRIES = 100  # windows drawn before giving up on finding one with few enough N


def split_regions(
    length: int, fractions: Sequence[float] = (0.8, 0.1, 0.1)
) -> dict[str, tuple[int, int]]:
    """Contiguous (start, end) regions of a record of `length` bases: train, then val, then test."""
    fractions = check_split(fractions)
    val_start = round(length * fractions[0])
    test_start = min(round(length * (fractions[0] + fractions[1])), length)
    return {"train": (0, val_start), "val": (val_start, test_start), "test": (test_start, length)}


def tile_record(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    """(start, end) windows covering a record: starts 0, stride, ...; the last one ends at the end.

    The last window is shifted back to (length - window, length) rather than cut short, so every
    window has the full length; a record shorter than `window` is one window (0, length).
    """
    if window < 1 or not 1 <= stride <= window:
        raise ValueError(f"need window >= 1 and 1 <= stride <= window, got {window=} {stride=}")
    if length <= window:
        return [(0, length)]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return [(start, start + window) for start in starts]


def longest_window(
    stores: Sequence[GenomeStore], split: str, fractions: Sequence[float] = (0.8, 0.1, 0.1)
) -> int:
    """The longest window that every store (class) has in `split`: the smallest, over stores,
    of the longest region of that split among the store's records."""
    return min(
        max(
            end - start
            for start, end in (split_regions(r.length, fractions)[split] for r in s.records)
        )
        for s in stores
    )


@dataclass(frozen=True)
class _Starts:
    """The valid window starts of one class in one split, numbered 0 .. total - 1."""

    records: np.ndarray  # record index of each usable region
    firsts: np.ndarray  # first start position in each region
    begins: np.ndarray  # number of the region's first start
    total: int

    def locate(self, number: int) -> tuple[int, int]:
        """(record, start) of the start with this number."""
        region = int(np.searchsorted(self.begins, number, side="right")) - 1
        return int(self.records[region]), int(self.firsts[region] + number - self.begins[region])


def _class_starts(
    store: GenomeStore, name: str, split: str, fractions: Sequence[float], seq_len: int
) -> _Starts:
    regions = [split_regions(record.length, fractions)[split] for record in store.records]
    usable = [(i, start, end) for i, (start, end) in enumerate(regions) if end - start >= seq_len]
    if not usable:
        longest = max(end - start for start, end in regions)
        raise UserError(
            f"species '{name}' has no {split} region of at least data.seq_len={seq_len} bases "
            f"(longest: {longest}): use a smaller data.seq_len or give {split} more of data.split"
        )
    records, firsts, ends = np.array(usable, dtype=np.int64).T
    counts = ends - firsts - seq_len + 1
    begins = np.cumsum(counts) - counts
    return _Starts(records, firsts, begins, int(counts.sum()))


class _Windows(Dataset):
    """What both datasets share: per-class starts of a split and N-filtered window picking."""

    def __init__(
        self,
        stores: Sequence[GenomeStore],
        split: str,
        seq_len: int,
        fractions: Sequence[float],
        max_n_frac: float,
        class_names: Sequence[str] | None,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.stores = list(stores)
        self.class_names = list(class_names or [store.path.name for store in self.stores])
        self.split = split
        self.seq_len = seq_len
        self.max_n_frac = max_n_frac
        self._starts = [
            _class_starts(store, name, split, fractions, seq_len)
            for store, name in zip(self.stores, self.class_names, strict=True)
        ]

    def _window(self, label: int, record: int, start: int) -> np.ndarray:
        return self.stores[label].window(record, start, start + self.seq_len)

    def _pick(
        self, label: int, rng: np.random.Generator, first: int | None = None
    ) -> tuple[int, int]:
        """(record, start) of a window with few enough N: start `first` if given, else random."""
        starts = self._starts[label]
        for _ in range(MAX_TRIES):
            number = int(rng.integers(starts.total)) if first is None else first
            first = None
            record, start = starts.locate(number)
            window = self._window(label, record, start)
            if np.count_nonzero(window == N_ID) <= self.max_n_frac * self.seq_len:
                return record, start
        raise UserError(
            f"species '{self.class_names[label]}': found no {self.split} window of "
            f"{self.seq_len} bases with at most {self.max_n_frac:.0%} N in {MAX_TRIES} tries: "
            "raise data.max_n_frac or check the genome"
        )


def _item(window: np.ndarray, label: int) -> dict[str, torch.Tensor | int]:
    return {"tokens": torch.from_numpy(np.array(window, dtype=np.int64)), "label": label}


class RandomWindowDataset(SharedEpoch, _Windows):
    """`samples_per_epoch` random windows, classes drawn uniformly; see the module docstring.

    Item `index` of epoch `e` depends only on (seed, e, index). With probability `rc_prob` a
    window is replaced by its reverse complement (the other strand of the same DNA).
    """

    def __init__(
        self,
        stores: Sequence[GenomeStore],
        split: str,
        seq_len: int,
        samples_per_epoch: int,
        *,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        rc_prob: float = 0.5,
        max_n_frac: float = 0.1,
        seed: int = 0,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(stores, split, seq_len, fractions, max_n_frac, class_names)
        self.samples_per_epoch = samples_per_epoch
        self.rc_prob = rc_prob
        self.seed = seed

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        if not 0 <= index < self.samples_per_epoch:
            raise IndexError(f"index {index} out of range for {self.samples_per_epoch} samples")
        rng = np.random.default_rng((self.seed, self.epoch, index))
        label = int(rng.integers(len(self.stores)))
        window = self._window(label, *self._pick(label, rng))
        # Drawn whatever rc_prob is, so datasets differing only in rc_prob cut the same windows.
        if rng.random() < self.rc_prob:
            window = reverse_complement(window)
        return _item(window, label)


class FixedWindowDataset(_Windows):
    """`windows_per_class` windows per class, chosen once from `seed`; see the module docstring.

    A class's starts are cut into `windows_per_class` equal strata and one window is drawn in
    each, so windows spread over the whole split and over records in proportion to their length.
    A window with too many N is replaced by one drawn anywhere in the class.
    """

    def __init__(
        self,
        stores: Sequence[GenomeStore],
        split: str,
        seq_len: int,
        windows_per_class: int,
        *,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        max_n_frac: float = 0.1,
        seed: int = 0,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(stores, split, seq_len, fractions, max_n_frac, class_names)
        rng = np.random.default_rng(seed)
        # (label, record, start): positions, not arrays, so the dataset pickles small for workers.
        self.windows: list[tuple[int, int, int]] = []
        for label, starts in enumerate(self._starts):
            strata = (
                np.arange(windows_per_class) + rng.random(windows_per_class)
            ) / windows_per_class
            for number in (strata * starts.total).astype(np.int64):
                self.windows.append((label, *self._pick(label, rng, first=int(number))))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        label, record, start = self.windows[index]
        return _item(self._window(label, record, start), label)
