"""DNA pretraining data: windows of any set of FASTA files, with a changeable training length.

Every record of every file is split by region as for the species task (seqmodels.data.dna.windows),
so that a model pretrained here and fine-tuned on the same genomes never saw their test regions.
Training windows are drawn at random (each file equally often, both strands with `rc_augment`);
validation and test windows are fixed by the seed, at the full `seq_len`.

For the sequence-length warmup (seqmodels.tasks.seq_len_warmup) an item of the training set is a
whole batch, `(rows, length)`: the callback changes the shape between epochs with `set_shape`,
through shared memory so that DataLoader workers see it. A batch at a shorter length holds the
first `length` bases of the windows it would hold at full length.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from seqmodels.data.datamodule import DataModule, check_counts, check_fraction
from seqmodels.data.dna.fasta import check_fasta_path
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.species import bundled_genomes
from seqmodels.data.dna.windows import FixedWindowDataset, RandomWindowDataset
from seqmodels.errors import UserError


class ShapedBatches(Dataset):
    """`batches` training batches per epoch, each `{"tokens": (rows, length)}` of random windows.

    Batch i draws its rows from windows i·max_rows … of `windows`, so a batch's content depends
    only on (seed, epoch, i) and its shape.
    """

    def __init__(self, windows: RandomWindowDataset, batches: int, max_rows: int) -> None:
        if len(windows) != batches * max_rows:
            raise ValueError(f"need {batches * max_rows} windows, got {len(windows)}")
        self.windows = windows
        self.batches = batches
        self.max_rows = max_rows
        self._shape = torch.tensor([max_rows, windows.seq_len]).share_memory_()

    @property
    def shape(self) -> tuple[int, int]:
        rows, length = self._shape.tolist()
        return rows, length

    def set_shape(self, rows: int, length: int) -> None:
        if not (1 <= rows <= self.max_rows and 1 <= length <= self.windows.seq_len):
            raise ValueError(
                f"shape ({rows}, {length}) outside (1..{self.max_rows}, 1..{self.windows.seq_len})"
            )
        self._shape.copy_(torch.tensor([rows, length]))

    def set_epoch(self, epoch: int) -> None:
        self.windows.set_epoch(epoch)

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rows, length = self.shape
        first = index * self.max_rows
        windows = [self.windows[first + row]["tokens"][:length] for row in range(rows)]
        return {"tokens": torch.stack(windows)}


class DnaPretrainDataModule(DataModule):
    """Windows of FASTA files (`fasta`; default: the bundled genomes) for next-base training.

    An epoch is `train_batches_per_epoch` batches of `batch_size` windows of `seq_len` bases, or
    of the shape the warmup sets, up to `max_rows` windows; validation and test use
    `val_windows_per_file` / `test_windows_per_file` fixed windows of every file.
    """

    train_items_are_batches = True  # ShapedBatches: the warmup sets their shape

    def __init__(
        self,
        fasta: Sequence[str | Path] | None = None,
        seq_len: int = 1024,
        batch_size: int = 16,
        num_workers: int = 0,
        split: Sequence[float] = (0.8, 0.1, 0.1),
        train_batches_per_epoch: int = 100,
        val_windows_per_file: int = 32,
        test_windows_per_file: int = 64,
        rc_augment: bool = True,
        max_n_frac: float = 0.1,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        max_rows: int | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, split, seed)
        if isinstance(fasta, str | Path):
            fasta = [fasta]
        paths = list(bundled_genomes().values()) if fasta is None else list(fasta)
        if not paths:
            raise UserError("data.fasta is empty: give at least one FASTA file")
        self.paths = [check_fasta_path(path) for path in paths]
        check_counts(
            seq_len=seq_len,
            train_batches_per_epoch=train_batches_per_epoch,
            val_windows_per_file=val_windows_per_file,
            test_windows_per_file=test_windows_per_file,
        )
        self.seq_len = seq_len
        self.max_rows = max(batch_size, max_rows or batch_size)
        self.train_batches_per_epoch = train_batches_per_epoch
        self.val_windows_per_file = val_windows_per_file
        self.test_windows_per_file = test_windows_per_file
        self.rc_prob = 0.5 if rc_augment else 0.0
        self.max_n_frac = check_fraction("max_n_frac", max_n_frac)
        self.cache_dir = cache_dir
        self.train_dataset: ShapedBatches | None = None
        self.val_dataset: FixedWindowDataset | None = None
        self.test_dataset: FixedWindowDataset | None = None

    def prepare_data(self) -> None:
        for path in self.paths:
            GenomeStore.open(path, self.cache_dir)

    def setup(self, stage: str | None = None) -> None:
        stores = [GenomeStore.open(path, self.cache_dir) for path in self.paths]
        common = {
            "fractions": self.split,
            "max_n_frac": self.max_n_frac,
            "seed": self.seed,
            "class_names": [path.name for path in self.paths],
        }
        if stage in ("fit", None):
            windows = RandomWindowDataset(
                stores,
                "train",
                self.seq_len,
                self.train_batches_per_epoch * self.max_rows,
                rc_prob=self.rc_prob,
                **common,
            )
            self.train_dataset = ShapedBatches(windows, self.train_batches_per_epoch, self.max_rows)
            self.train_dataset.set_shape(self.batch_size, self.seq_len)
        if stage in ("fit", "validate", None):
            self.val_dataset = FixedWindowDataset(
                stores, "val", self.seq_len, self.val_windows_per_file, **common
            )
        if stage in ("test", None):
            self.test_dataset = FixedWindowDataset(
                stores, "test", self.seq_len, self.test_windows_per_file, **common
            )
