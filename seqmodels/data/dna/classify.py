"""A lab's own labelled sequences as train/val/test batches (task=dna_classify).

`train`, `val` and `test` are files or class folders in any format of seqmodels.data.dna.labelled;
a split not given is carved out of `train`, class by class, by a seeded shuffle (`split` gives
the fractions of train's sequences that go to val and test). Class names are those of the
training data, sorted (numerically when every name is a whole number, so "2" comes before
"10"); a class in val or test that train lacks is an error.

The labels are classes, numbers (regression) or several 0/1 columns (multilabel): `target`
and `label_columns`, read by seqmodels.data.dna.targets (`auto` infers the kind from the
training labels). Numeric targets come as float32 vectors (targets,) in the file's units; the
training split's mean and std (`target_mean`, `target_std`) are for the model to standardise
with. A regression or multilabel split not given is carved out of train by one seeded shuffle.

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
from seqmodels.data.dna.labelled import FASTA_SUFFIXES, LabelledSequence, read_labelled
from seqmodels.data.dna.targets import as_numbers, check_target, infer_target
from seqmodels.data.dna.tokens import PAD_ID, reverse_complement
from seqmodels.data.epoch import SharedEpoch
from seqmodels.errors import UserError


def sorted_classes(labels: set[str]) -> list[str]:
    """Class names in id order: numerically if all are whole numbers, else alphabetically."""
    if all(label.isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def _classes_only(path: str | Path) -> bool:
    """Class folders and labelled FASTA: their labels are class names."""
    path = Path(path).expanduser()
    suffix = Path(path.name.lower().removesuffix(".gz")).suffix
    return path.is_dir() or suffix in FASTA_SUFFIXES


def pad_batch(items: list[dict]) -> dict[str, torch.Tensor]:
    """Items of different lengths → {"tokens": (B, L_max) right-padded with PAD, "label": (B,)
    class ids, or (B, targets) float32 numbers}."""
    tokens = torch.full((len(items), max(len(item["tokens"]) for item in items)), PAD_ID)
    for row, item in enumerate(items):
        tokens[row, : len(item["tokens"])] = item["tokens"]
    labels = [item["label"] for item in items]
    if isinstance(labels[0], np.ndarray):
        return {"tokens": tokens, "label": torch.from_numpy(np.stack(labels))}
    return {"tokens": tokens, "label": torch.tensor(labels)}


class LabelledDataset(SharedEpoch, Dataset):
    """(tokens, class id or target vector) pairs; with `rc_prob`, a random share read as the
    reverse complement."""

    def __init__(
        self,
        examples: Sequence[tuple[np.ndarray, int | np.ndarray]],
        rc_prob: float = 0.0,
        seed: int = 0,
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
        label_columns: Sequence[str] = ("label",),
        target: str = "auto",
    ) -> None:
        if train is None:
            raise UserError(
                "task=dna_classify needs data.train=FILE (a table, BED, FASTA or folder)"
            )
        super().__init__(batch_size, num_workers, split, seed, train_required=True)
        self.rc_prob = 0.5 if rc_augment else 0.0
        if isinstance(label_columns, str) or not label_columns:
            raise UserError(
                f"data.label_columns={label_columns}: give a list of column names, e.g. "
                "data.label_columns=[label] or data.label_columns=[a,b]"
            )
        self.label_columns = [str(name) for name in label_columns]
        self.sources = {"train": train, "val": val, "test": test}
        for path in self.sources.values():
            if path is not None:
                check_target(target, str(path), fixed=_classes_only(path))
        store = None if genome is None else GenomeStore.open(genome, cache_dir)
        read = {"train": read_labelled(train, store, self.label_columns)}
        for name, path in (("val", val), ("test", test)):
            if path is not None:
                read[name] = read_labelled(path, store, self.label_columns)
        self.target, self.target_reason = target, f"task.target={target}"
        if target == "auto" and _classes_only(train):
            self.target = "classification"  # whatever the names look like: "|0.5" is a class
        elif target == "auto":
            labels = [item.label for item in read["train"]]
            self.target, why = infer_target(labels, self.label_columns, f"data.train={train}")
            self.target_reason = f"task.target=auto: {self.target}, as {why}"
        if self.target == "classification" and len(self.label_columns) > 1:
            raise UserError(
                f"task.target=classification reads one label column, not "
                f"data.label_columns={self.label_columns}: use task.target=multilabel for "
                "several 0/1 columns"
            )
        if self.target != "classification":  # a bad value is named before any split is cut
            for item in (item for items in read.values() for item in items):
                as_numbers(item.label, self.label_columns, item.where, self.target)
        self.splits = self._carve(read, {"val": self.split[1], "test": self.split[2]})
        self.max_len = max(len(item.tokens) for item in self.splits["train"])
        self.train_dataset: LabelledDataset | None = None
        self.val_dataset: LabelledDataset | None = None
        self.test_dataset: LabelledDataset | None = None
        if self.target == "classification":
            self._check_classes(train)
        else:
            self._read_numbers(train)

    def _check_classes(self, train: str | Path) -> None:
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

    def _read_numbers(self, train: str | Path) -> None:
        """Regression and multilabel: every split's labels as a float32 array (n, targets)."""
        self.target_names = list(self.label_columns)
        self.values = {
            name: np.stack(
                [as_numbers(s.label, self.target_names, s.where, self.target) for s in items]
            )
            for name, items in self.splits.items()
        }
        values = self.values["train"]
        if self.target == "multilabel":
            for i, name in enumerate(self.target_names):
                if values[:, i].min() == values[:, i].max():
                    raise UserError(
                        f"data.train={train}: label column {name!r} is {int(values[0, i])} in "
                        "every training sequence: a label needs examples of both 0 and 1"
                    )
            return
        self.target_mean = values.astype(np.float64).mean(axis=0)
        self.target_std = values.astype(np.float64).std(axis=0)
        for name, std in zip(self.target_names, self.target_std, strict=True):
            if not std > 0:
                raise UserError(
                    f"data.train={train}: target {name!r} has the same value in every training "
                    "sequence: there is nothing to learn"
                )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _group(self, item: LabelledSequence) -> str | tuple[str, ...] | None:
        """What carving keeps in proportion: the class; numbers are shuffled as one group."""
        return item.label if self.target == "classification" else None

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
        for group in sorted({self._group(item) for item in read["train"]}, key=str):
            items = [item for item in read["train"] if self._group(item) == group]
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
        """Sequences per class in each split, in class-id order (multilabel: sequences of each
        label; regression: the number of sequences, once per target)."""
        if self.target != "classification":
            return {
                name: [
                    int(values[:, i].sum()) if self.target == "multilabel" else len(values)
                    for i in range(len(self.target_names))
                ]
                for name, values in self.values.items()
            }
        return {
            name: [sum(item.label == c for item in items) for c in self.class_names]
            for name, items in self.splits.items()
        }

    def _dataset(self, name: str, rc_prob: float = 0.0) -> LabelledDataset:
        if self.target != "classification":
            items = zip(self.splits[name], self.values[name], strict=True)
            return LabelledDataset([(s.tokens, v) for s, v in items], rc_prob, self.seed)
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
