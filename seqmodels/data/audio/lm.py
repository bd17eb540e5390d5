"""Raw-waveform language-modeling data: windows of mu-law tokens from a folder of audio files.

Files are split into train/validation/test by file (the root's Speech Commands list files when it
has them, else seeded; see audio_folders). Training draws fresh random windows each epoch;
validation and test use fixed non-overlapping windows of their files, so their bits per sample
compare across epochs and runs. With no root, the bundled spoken digits are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seqmodels.data.audio.datasets import FixedWindowDataset, RandomCropDataset, tile_windows
from seqmodels.data.audio.folders import BUNDLED_DIGITS, split_files
from seqmodels.data.audio.io import AudioInfo, check_rate, find_audio_files, scan_audio
from seqmodels.data.datamodule import DataModule, check_counts
from seqmodels.errors import UserError


class AudioLMDataModule(DataModule):
    """Windows of `seq_len` samples at `sample_rate` (files shorter than that are skipped with a
    warning). Training draws `train_samples_per_epoch` windows per epoch; validation and test use
    at most `val_windows` / `test_windows` fixed windows."""

    def __init__(
        self,
        root: str | Path | None = None,
        sample_rate: int = 16000,
        seq_len: int = 2048,
        batch_size: int = 8,
        num_workers: int = 0,
        split: Sequence[float] = (0.8, 0.1, 0.1),
        train_samples_per_epoch: int = 800,
        val_windows: int = 64,
        test_windows: int = 128,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size, num_workers, split, seed)
        self.root = BUNDLED_DIGITS if root is None else Path(root).expanduser()
        self.rate = check_rate(sample_rate)
        check_counts(
            seq_len=seq_len,
            train_samples_per_epoch=train_samples_per_epoch,
            val_windows=val_windows,
            test_windows=test_windows,
        )
        if seq_len < 2:
            raise UserError(f"data.seq_len={seq_len}: a window needs two samples or more")
        self.seq_len = seq_len
        self.train_samples_per_epoch = train_samples_per_epoch
        self.val_windows = val_windows
        self.test_windows = test_windows
        self.files: dict[str, list[AudioInfo]] = {}
        self.train_dataset: RandomCropDataset | None = None
        self.val_dataset: FixedWindowDataset | None = None
        self.test_dataset: FixedWindowDataset | None = None

    def prepare_data(self) -> None:
        """Read every file's header once (and prove it decodes); bad files are left out."""
        if self.files:
            return
        paths = split_files(self.root, find_audio_files(self.root), self.split, self.seed)
        for split, names in paths.items():
            if not names:
                raise UserError(
                    f"data.root={self.root}: the split leaves no {split} files: add files or "
                    "change data.split"
                )
            self.files[split] = scan_audio(names, min_frames=self.seq_len, rate=self.rate)

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        if stage in ("fit", None):
            self.train_dataset = RandomCropDataset(
                self.files["train"],
                self.rate,
                self.seq_len,
                self.train_samples_per_epoch,
                self.seed,
            )
        if stage in ("fit", "validate", None):
            self.val_dataset = self.fixed_windows("val")
        if stage in ("test", None):
            self.test_dataset = self.fixed_windows("test")

    def fixed_windows(self, split: str) -> FixedWindowDataset:
        """The validation or test windows: the same on every call and every run with this seed."""
        limit = self.val_windows if split == "val" else self.test_windows
        windows = tile_windows(self.files[split], self.rate, self.seq_len, limit, self.seed)
        return FixedWindowDataset(windows, self.rate, self.seq_len)
