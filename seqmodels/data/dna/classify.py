"""A lab's own labelled sequences as train/val/test batches (task=dna_classify).

`train`, `val` and `test` are files or class folders in any format of seqmodels.data.dna.labelled;
a split not given is carved out of `train`, class by class, by a seeded shuffle (`split` gives
the fractions of train's sequences that go to val and test). Class names are those of the
training data, sorted (numerically when every name is a whole number, so "2" comes before
"10"); a class in val or test that train lacks is an error.

Sequences keep their lengths. A batch is right-padded with PAD to its longest sequence and the
models mask the padding out, so a sequence gets the same prediction alone or in any batch.
With `rc_augment`, training reads a random half of the sequences as their reverse complement
(fresh each epoch, from (seed, epoch, index)): right for labels that do not depend on the strand,
wrong for strand-specific ones (promoter direction, splice sites), hence off by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from seqmodels.data.datamodule import DataModule
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.labelled import LabelledSequence, read_labelled
from seqmodels.data.dna.tokens import PAD_ID, reverse_complement
from seqmodels.data.epoch import SharedEpoch
from seqmodels.errors import UserError


def sorted_classes(labels: set[str]) -> list[str]:
    """Class names in id order: numerically if all are whole numbers, else alphabetically."""
    if all(label.isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def pad_batch(items: list[dict]) -> dict[str, torch.Tensor]:
    """Items of different lengths → {"tokens": (B, L_max) right-padded with PAD, "label": (B,)}."""
    tokens = torch.full((len(items), max(len(item["tokens"]) for item in items)), PAD_ID)
    for row, item in enumerate(items):
        tokens[row, : len(item["tokens"])] = item["tokens"]
    return {"tokens": tokens, "label": torch.tensor([item["label"] for item in items])}


class LabelledDataset(SharedEpoch, Dataset):
    """(tokens, class id) pairs; with `rc_prob`, a random share read as the reverse complement."""

    def __init__(
        self, examples: Sequence[tuple[np.ndarray, int]], rc_prob: float = 0.0, seed: int = 0
    ) -> None:
        super().__init__()
        self.examples = list(examples)
        self.rc_prob = rc_prob
        self.seed = seed

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        tokens, label = self.examples[index]
        if self.rc_prob:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            if rng.random() < self.rc_prob:
                tokens = reverse_complement(tokens)
        return {"tokens": torch.from_numpy(np.array(tokens, dtype=np.int64)), "label": label}


class DnaClassifyDataModule(DataModule):
    """Labelled sequences from a lab's files; see the module docstring.

    `genome` is the FASTA that coordinate rows (BED, chrom/start/end tables) refer to; it is
    parsed once into the genome cache (`cache_dir`, see GenomeStore). Files are read when the
    module is made, so that every mistake in them shows before training starts.
    """

    collate_fn = staticmethod(pad_batch)  # sequences keep their lengths
    shuffle_training = True  # fixed sequences: a new seeded order every epoch

    def __init__(
        self,
        train: str | Path,
        val: str | Path | None = None,
        test: str | Path | None = None,
        genome: str | Path | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        split: Sequence[float] = (0.8, 0.1, 0.1),
        rc_augment: bool = False,
        seed: int = 0,
        cache_dir: str | Path | None = None,
    ) -> None:
        if train is None:
            raise UserError(
                "task=dna_classify needs data.train=FILE (a table, BED, FASTA or folder)"
            )
        super().__init__(batch_size, num_workers, split, seed, train_required=True)
        self.rc_prob = 0.5 if rc_augment else 0.0
        store = None if genome is None else GenomeStore.open(genome, cache_dir)
        read = {"train": read_labelled(train, store)}
        for name, path in (("val", val), ("test", test)):
            if path is not None:
                read[name] = read_labelled(path, store)
        self.sources = {"train": train, "val": val, "test": test}
        self.splits = self._carve(read, {"val": self.split[1], "test": self.split[2]})
        self.class_names = sorted_classes({s.label for s in self.splits["train"]})
        if len(self.class_names) < 2:
            raise UserError(
                f"data.train={train} has one class ({self.class_names[0]!r}): a classifier "
                "needs at least two"
            )
        for name in ("val", "test"):
            for item in self.splits[name]:
                if item.label not in self.class_names:
                    raise UserError(
                        f"{item.where}: class {item.label!r} is not in the training data "
                        f"(classes: {', '.join(self.class_names)}): give it training examples "
                        "or leave it out"
                    )
        self.max_len = max(len(item.tokens) for item in self.splits["train"])
        self.train_dataset: LabelledDataset | None = None
        self.val_dataset: LabelledDataset | None = None
        self.test_dataset: LabelledDataset | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _carve(
        self, read: dict[str, list[LabelledSequence]], fractions: dict[str, float]
    ) -> dict[str, list[LabelledSequence]]:
        """Splits not read from a file are cut out of train, the same share of every class."""
        missing = [name for name in ("val", "test") if name not in read]
        if not missing:
            return read
        rng = np.random.default_rng(self.seed)
        out: dict[str, list[LabelledSequence]] = {"train": [], "val": [], "test": []}
        out.update({name: items for name, items in read.items() if name != "train"})
        for label in sorted({item.label for item in read["train"]}):
            items = [item for item in read["train"] if item.label == label]
            order = rng.permutation(len(items))
            start = 0
            for name in missing:
                count = round(fractions[name] * len(items))
                out[name] += [items[i] for i in order[start : start + count]]
                start += count
            out["train"] += [items[i] for i in sorted(order[start:])]
        for name in missing:
            if not out[name]:
                raise UserError(
                    f"data.train={self.sources['train']} has too few sequences to carve a {name} "
                    f"split from: give data.{name}=FILE or a larger data.split fraction"
                )
        return out

    def counts(self) -> dict[str, list[int]]:
        """Sequences per class in each split, in class-id order."""
        return {
            name: [sum(item.label == c for item in items) for c in self.class_names]
            for name, items in self.splits.items()
        }

    def _dataset(self, name: str, rc_prob: float = 0.0) -> LabelledDataset:
        ids = {name: i for i, name in enumerate(self.class_names)}
        examples = [(item.tokens, ids[item.label]) for item in self.splits[name]]
        return LabelledDataset(examples, rc_prob, self.seed)

    def setup(self, stage: str | None = None) -> None:
        if stage in ("fit", None):
            self.train_dataset = self._dataset("train", self.rc_prob)
        if stage in ("fit", "validate", None):
            self.val_dataset = self._dataset("val")
        if stage in ("test", None):
            self.test_dataset = self._dataset("test")
