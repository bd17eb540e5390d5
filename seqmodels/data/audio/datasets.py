"""Map-style datasets of mu-law tokens cut from audio files, for the audio tasks.

`RandomCropDataset` draws fresh windows every epoch (`set_epoch`), each from the item index, the
seed and the epoch alone, so any worker or process reads the same window for the same index.
`FixedWindowDataset` holds windows chosen once (validation, test), and `ClipDataset` gives one
fixed-length clip per file with its label: cropped when longer (at random for training, from the
middle otherwise), padded with silence when shorter. Every read goes through `read_audio`, which
decodes only the frames of the window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from seqmodels.data.audio.io import AudioInfo, read_audio
from seqmodels.data.audio.mulaw import SILENCE, mu_law_encode
from seqmodels.data.epoch import SharedEpoch


class RandomCropDataset(SharedEpoch, Dataset):
    """`samples_per_epoch` windows of `length` frames at `rate`, from files drawn in proportion
    to their length (every frame is equally likely to be in a window)."""

    def __init__(
        self, files: Sequence[AudioInfo], rate: int, length: int, samples_per_epoch: int, seed: int
    ) -> None:
        super().__init__()
        self.files = list(files)
        self.rate = rate
        self.length = length
        self.samples_per_epoch = samples_per_epoch
        self.seed = seed
        starts = np.array([f.frames_at(rate) - length + 1 for f in self.files], dtype=np.float64)
        self.weights = starts / starts.sum()

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        info = self.files[rng.choice(len(self.files), p=self.weights)]
        start = int(rng.integers(0, info.frames_at(self.rate) - self.length + 1))
        return {"tokens": mu_law_encode(read_audio(info, self.rate, start, self.length))}


def tile_windows(
    files: Sequence[AudioInfo], rate: int, length: int, limit: int, seed: int
) -> list[tuple[AudioInfo, int]]:
    """Non-overlapping windows over every file, then a seeded choice of at most `limit`."""
    windows = [
        (info, start)
        for info in files
        for start in range(0, info.frames_at(rate) - length + 1, length)
    ]
    if len(windows) > limit:
        keep = np.random.default_rng(seed).choice(len(windows), size=limit, replace=False)
        windows = [windows[i] for i in sorted(keep)]
    return windows


class FixedWindowDataset(Dataset):
    """The same windows (file, start frame at `rate`) every time."""

    def __init__(self, windows: Sequence[tuple[AudioInfo, int]], rate: int, length: int) -> None:
        self.windows = list(windows)
        self.rate = rate
        self.length = length

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        info, start = self.windows[index]
        return {"tokens": mu_law_encode(read_audio(info, self.rate, start, self.length))}


def fit_clip(
    info: AudioInfo,
    rate: int,
    length: int,
    rng: np.random.Generator | None,
    speed: float = 0.0,
    gain_db: float = 0.0,
) -> Tensor:
    """`length` tokens of the file: a crop of a longer file (random with `rng`, else the middle),
    or the whole of a shorter one with silence after it (before and after at random with `rng`).

    With `rng`, `speed` > 0 plays the clip at a random speed in [1 - speed, 1 + speed] (tempo and
    pitch together, as tape does) and `gain_db` > 0 scales it by a random gain in ±gain_db dB:
    the classic augmentations for spoken words, which are the same word at any of these."""
    factor = float(rng.uniform(1 - speed, 1 + speed)) if rng and speed else 1.0
    gain = 10 ** (float(rng.uniform(-gain_db, gain_db)) / 20) if rng and gain_db else 1.0
    total = info.frames_at(rate)
    span = max(1, round(length * factor))  # source frames that play for `length` frames
    if total >= span:
        start = int(rng.integers(0, total - span + 1)) if rng else (total - span) // 2
        audio = read_audio(info, rate, start, span)
    else:
        audio = read_audio(info, rate)
    if factor != 1.0:
        size = min(length, max(1, round(len(audio) / factor)))
        audio = F.interpolate(audio[None, None], size=size, mode="linear")[0, 0]
    tokens = mu_law_encode(audio * gain)
    if len(tokens) == length:
        return tokens
    clip = torch.full((length,), SILENCE, dtype=torch.int64)
    offset = int(rng.integers(0, length - len(tokens) + 1)) if rng else 0
    clip[offset : offset + len(tokens)] = tokens
    return clip


class ClipDataset(SharedEpoch, Dataset):
    """(clip tokens (length,), label) per file. With `random`, for training, each epoch visits
    the files in a new seeded order (loaders read indices in order) and crops and places clips at
    random."""

    def __init__(
        self,
        files: Sequence[AudioInfo],
        labels: Sequence[int],
        rate: int,
        length: int,
        random: bool,
        seed: int,
        speed: float = 0.0,
        gain_db: float = 0.0,
    ) -> None:
        super().__init__()
        self.files = list(files)
        self.labels = list(labels)
        self.speed = speed  # augmentations of the random (training) clips: see fit_clip
        self.gain_db = gain_db
        self.rate = rate
        self.length = length
        self.random = random
        self.seed = seed
        self._order: tuple[int, np.ndarray] | None = None  # (epoch, file order) of this process

    def order(self, epoch: int) -> np.ndarray:
        """The order the files are read in at `epoch` (file index of each item index)."""
        if not self.random:
            return np.arange(len(self.files))
        # Drawn once per epoch in each process (a worker too), not once per item.
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self)))
        return self._order[1]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        epoch = self.epoch
        index = int(self.order(epoch)[index])
        rng = np.random.default_rng([self.seed, epoch, index]) if self.random else None
        tokens = fit_clip(self.files[index], self.rate, self.length, rng, self.speed, self.gain_db)
        return {"tokens": tokens, "label": torch.tensor(self.labels[index])}
