"""Audio clip classification data: one folder per label (the Speech Commands / SC09 layout).

Labels are the subfolder names, sorted, so class ids are the same on every machine. Files are
split as the root's validation_list.txt / testing_list.txt say when it has them, otherwise each
label's files are split by a seed (so every split has every label). Every clip becomes
`clip_seconds` of mu-law tokens at `sample_rate`: see ClipDataset. With no root, the bundled
spoken digits ("zero" to "nine", seqmodels/data/audio/bundled/digits) are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seqmodels.data.audio.datasets import ClipDataset
from seqmodels.data.audio.folders import (
    BUNDLED_DIGITS,
    has_lists,
    label_folders,
    list_split,
    seeded_split,
)
from seqmodels.data.audio.io import AudioInfo, check_rate, scan_audio
from seqmodels.data.datamodule import DataModule
from seqmodels.data.splits import SPLITS
from seqmodels.errors import UserError


class AudioClassifyDataModule(DataModule):
    def __init__(
        self,
        root: str | Path | None = None,
        sample_rate: int = 16000,
        clip_seconds: float = 1.0,
        batch_size: int = 16,
        num_workers: int = 0,
        split: Sequence[float] = (0.8, 0.1, 0.1),
        seed: int = 0,
        speed_perturb: float = 0.0,
        gain_db: float = 0.0,
    ) -> None:
        super().__init__(batch_size, num_workers, split, seed)
        if not 0.0 <= float(speed_perturb) < 1.0:
            raise UserError(f"data.speed_perturb={speed_perturb}: must be in [0, 1) (0.1: ±10%)")
        if float(gain_db) < 0.0:
            raise UserError(f"data.gain_db={gain_db}: must be 0 (off) or more")
        self.speed_perturb = float(speed_perturb)
        self.gain_db = float(gain_db)
        self.root = BUNDLED_DIGITS if root is None else Path(root).expanduser()
        self.rate = check_rate(sample_rate)
        self.clip_len = round(float(clip_seconds) * self.rate)
        if self.clip_len < 1:
            raise UserError(f"data.clip_seconds={clip_seconds}: clips must be longer than 0 s")
        self.labels = label_folders(self.root)  # checked now: the class names fix the model
        self.files: dict[str, tuple[list[AudioInfo], list[int]]] = {}

    @property
    def class_names(self) -> list[str]:
        return list(self.labels)

    def prepare_data(self) -> None:
        """Split the files and read every header once; unreadable ones are left out (warning)."""
        if self.files:
            return
        readable = {info.path: info for info in scan_audio(sum(self.labels.values(), []))}
        by_split: dict[str, tuple[list[AudioInfo], list[int]]] = {s: ([], []) for s in SPLITS}
        lists = has_lists(self.root)
        for label, (name, paths) in enumerate(self.labels.items()):
            good = [path for path in paths if path in readable]
            if not good:
                raise UserError(f"label '{name}': none of its {len(paths)} files is readable")
            parts = (
                list_split(self.root, good)
                if lists
                else seeded_split(good, self.split, self.seed + label)
            )
            for split, files in parts.items():
                by_split[split][0].extend(readable[path] for path in files)
                by_split[split][1].extend([label] * len(files))
        for split, (infos, _) in by_split.items():
            if not infos:
                raise UserError(
                    f"data.root={self.root}: no {split} files: add recordings, list them in "
                    "validation_list.txt / testing_list.txt, or change data.split"
                )
        self.files = by_split

    def counts(self) -> dict[str, list[int]]:
        """{split: files per label}."""
        self.prepare_data()
        return {
            split: [labels.count(i) for i in range(len(self.labels))]
            for split, (_, labels) in self.files.items()
        }

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}
        for split in wanted.get(stage, SPLITS):
            infos, labels = self.files[split]
            random = split == "train"  # training crops and orders its clips anew every epoch
            augment = (self.speed_perturb, self.gain_db) if random else (0.0, 0.0)
            clips = ClipDataset(
                infos, labels, self.rate, self.clip_len, random, self.seed, *augment
            )
            setattr(self, f"{split}_dataset", clips)
