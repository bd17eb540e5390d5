"""Folders of audio files: the bundled digits, label folders, and the split of files into
train/validation/test.

A split is by file, never inside one, so no recording is heard in two splits. A root folder with
Speech Commands' `validation_list.txt` / `testing_list.txt` (paths relative to the root, one per
line) is split as those lists say, the rest training; otherwise the split is drawn from a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqmodels.data.audio.io import SUFFIXES, find_audio_files
from seqmodels.data.splits import SPLITS
from seqmodels.errors import UserError

BUNDLED_DIGITS = Path(__file__).parent / "bundled" / "digits"
LIST_FILES = {"val": "validation_list.txt", "test": "testing_list.txt"}


def seeded_split(
    files: Sequence[Path], fractions: Sequence[float], seed: int
) -> dict[str, list[Path]]:
    """Shuffle the files with `seed` and cut them by `fractions`; validation and test get at
    least one file each when their fraction is not zero and there are three files or more."""
    order = [files[i] for i in np.random.default_rng(seed).permutation(len(files))]
    n = len(order)
    n_val, n_test = (round(f * n) for f in fractions[1:])
    if n >= 3:
        n_val = max(1, n_val) if fractions[1] > 0 else 0
        n_test = max(1, n_test) if fractions[2] > 0 else 0
    n_train = n - n_val - n_test
    parts = {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    return {name: sorted(part) for name, part in parts.items()}


def has_lists(root: Path) -> bool:
    return any((root / name).is_file() for name in LIST_FILES.values())


def list_split(root: Path, files: Sequence[Path]) -> dict[str, list[Path]]:
    """The split that root's validation_list.txt and testing_list.txt give (missing ones: none)."""
    held: dict[str, set[Path]] = {}
    for split, name in LIST_FILES.items():
        path = root / name
        lines = path.read_text().splitlines() if path.is_file() else []
        held[split] = {(root / line.strip()).resolve() for line in lines if line.strip()}
    parts: dict[str, list[Path]] = {split: [] for split in SPLITS}
    for file in files:
        resolved = file.resolve()
        split = next((s for s, names in held.items() if resolved in names), "train")
        parts[split].append(file)
    return parts


def split_files(
    root: Path, files: Sequence[Path], fractions: Sequence[float], seed: int
) -> dict[str, list[Path]]:
    """Files of `root` by split: from its list files if it has them, else seeded by file."""
    return list_split(root, files) if has_lists(root) else seeded_split(files, fractions, seed)


def label_folders(root: str | Path) -> dict[str, list[Path]]:
    """{label: audio files} for a folder with one subfolder per label (sorted by name). Folders
    whose names start with "_" or "." (Speech Commands' _background_noise_) are not labels."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"data.root={root}: no such folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    if len(folders) < 2:
        raise UserError(
            f"data.root={root}: expected one folder per label (two or more), "
            f"found {len(folders)}: put each class's recordings in root/<label>/"
        )
    labels = {}
    for folder in folders:
        if not any(p.suffix.lower() in SUFFIXES for p in folder.rglob("*")):
            raise UserError(
                f"{folder}: label folder '{folder.name}' has no audio files "
                f"({', '.join(SUFFIXES)}): add recordings or remove it"
            )
        labels[folder.name] = find_audio_files(folder, what="label folder")
    return labels
