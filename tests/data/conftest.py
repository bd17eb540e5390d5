"""Tiny inputs for every data module, shared by the tests of what all of them do alike."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from seqmodels.data.audio.classify import AudioClassifyDataModule
from seqmodels.data.audio.lm import AudioLMDataModule
from seqmodels.data.datamodule import DataModule
from seqmodels.data.dna.classify import DnaClassifyDataModule
from seqmodels.data.dna.pretrain import DnaPretrainDataModule
from seqmodels.data.dna.species import DnaSpeciesDataModule

NAMES = ("audio_lm", "audio_classify", "dna_species", "dna_pretrain", "dna_classify")


def write_clip(path: Path, frames: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(seed).standard_normal(frames) * 0.2
    sf.write(path, noise.clip(-1, 1).astype(np.float32), 16000)


def _audio_lm(root: Path, **options: Any) -> DataModule:
    for i in range(6):
        write_clip(root / f"{i}.wav", 400 + 100 * i, seed=i)
    options = {"seq_len": 64, "batch_size": 4, "train_samples_per_epoch": 8, **options}
    return AudioLMDataModule(root, **options)


def _audio_classify(root: Path, **options: Any) -> DataModule:
    for label in ("no", "yes"):
        for i in range(6):  # longer and shorter than a clip: random crops and placements
            write_clip(root / label / f"s{i}.wav", 200 + 60 * i, seed=i)
    # augmented as the task's defaults are, so the contracts hold for the random speed and gain
    defaults = {"clip_seconds": 0.02, "batch_size": 4, "speed_perturb": 0.1, "gain_db": 6.0}
    return AudioClassifyDataModule(root, **{**defaults, **options})


def _genomes(root: Path) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    genomes = {}
    for name, seed in (("alpha", 0), ("beta", 1)):
        bases = np.random.default_rng(seed).choice(list("ACGT"), 3000)
        (root / f"{name}.fa").write_text(f">{name}\n{''.join(bases)}\n")
        genomes[name] = str(root / f"{name}.fa")
    return genomes


def _dna_species(root: Path, **options: Any) -> DataModule:
    options = {"seq_len": 32, "batch_size": 4, "train_samples_per_epoch": 8, **options}
    return DnaSpeciesDataModule(_genomes(root), cache_dir=root / "cache", **options)


def _dna_pretrain(root: Path, **options: Any) -> DataModule:
    options = {"seq_len": 32, "batch_size": 4, "train_batches_per_epoch": 2, **options}
    fasta = list(_genomes(root).values())
    return DnaPretrainDataModule(fasta, cache_dir=root / "cache", **options)


def _dna_classify(root: Path, **options: Any) -> DataModule:
    root.mkdir(parents=True, exist_ok=True)
    units = (("ACG", "a"), ("TTG", "b"))
    rows = [(unit * (2 + i % 3), label) for unit, label in units for i in range(8)]
    path = root / "train.tsv"
    path.write_text("sequence\tlabel\n" + "".join(f"{s}\t{label}\n" for s, label in rows))
    return DnaClassifyDataModule(path, **{"batch_size": 4, "rc_augment": True, **options})


_BUILDERS: dict[str, Callable[..., DataModule]] = {
    "audio_lm": _audio_lm,
    "audio_classify": _audio_classify,
    "dna_species": _dna_species,
    "dna_pretrain": _dna_pretrain,
    "dna_classify": _dna_classify,
}


@pytest.fixture(params=NAMES)
def task(request) -> str:
    """Each task with a data module in turn."""
    return request.param


@pytest.fixture
def tiny_module(tmp_path) -> Callable[..., DataModule]:
    """tiny_module(name, **options): that task's data module over small files in tmp_path
    (written on the first call, the same files on later ones), with `options` passed on."""

    def build(name: str, **options: Any) -> DataModule:
        return _BUILDERS[name](tmp_path / "data", **options)

    return build
