"""The labelled-data module: splits, class ids, padding, and classes missing from training."""

from pathlib import Path

import pytest
import torch

from seqmodels.data.dna.classify import DnaClassifyDataModule, pad_batch, sorted_classes
from seqmodels.data.dna.tokens import PAD_ID
from seqmodels.errors import UserError


def table(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("sequence\tlabel\n" + "".join(f"{s}\t{label}\n" for s, label in rows))
    return path


def labelled(count: int, label: str, unit: str) -> list[tuple[str, str]]:
    return [(unit * (1 + i % 5), label) for i in range(count)]


def test_class_names_sorted_numerically_when_numbers():
    assert sorted_classes({"10", "2", "1"}) == ["1", "2", "10"]
    assert sorted_classes({"b", "a", "10"}) == ["10", "a", "b"]


def test_pad_batch_right_pads_with_pad():
    items = [
        {"tokens": torch.tensor([1, 2, 3]), "label": 0},
        {"tokens": torch.tensor([4]), "label": 1},
    ]
    batch = pad_batch(items)
    assert batch["tokens"].tolist() == [[1, 2, 3], [4, PAD_ID, PAD_ID]]
    assert batch["label"].tolist() == [0, 1]


def test_seeded_split_carves_every_class_the_same_way(tmp_path):
    path = table(tmp_path / "t.tsv", labelled(50, "b", "AC") + labelled(30, "a", "GT"))
    first = DnaClassifyDataModule(path, split=(0.6, 0.2, 0.2), seed=3)
    counts = first.counts()
    assert first.class_names == ["a", "b"]
    assert counts == {"train": [18, 30], "val": [6, 10], "test": [6, 10]}
    again = DnaClassifyDataModule(path, split=(0.6, 0.2, 0.2), seed=3)
    other = DnaClassifyDataModule(path, split=(0.6, 0.2, 0.2), seed=4)
    where = [[item.where for item in module.splits["test"]] for module in (first, again, other)]
    assert where[0] == where[1] != where[2]
    assert not {item.where for item in first.splits["train"]} & set(where[0])


def test_given_files_are_used_as_they_are(tmp_path):
    train = table(tmp_path / "train.tsv", labelled(10, "a", "A") + labelled(10, "b", "C"))
    test = table(tmp_path / "test.tsv", [("GGG", "b")])
    module = DnaClassifyDataModule(train, test=test, split=(0.8, 0.2, 0.0))
    assert module.counts() == {"train": [8, 8], "val": [2, 2], "test": [0, 1]}
    module.setup("test")
    batch = next(iter(module.test_dataloader()))
    assert batch["tokens"].tolist() == [[3, 3, 3]] and batch["label"].tolist() == [1]


def test_batches_hold_sequences_of_different_lengths(tmp_path):
    path = table(tmp_path / "t.tsv", labelled(20, "a", "AC") + labelled(20, "b", "GT"))
    module = DnaClassifyDataModule(path, batch_size=40, split=(0.8, 0.1, 0.1))
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    lengths = (batch["tokens"] != PAD_ID).sum(1)
    assert batch["tokens"].shape[1] == 10 and lengths.min() == 2


def test_class_in_test_but_not_in_train_names_file_and_line(tmp_path):
    train = table(tmp_path / "train.tsv", labelled(10, "a", "A") + labelled(10, "b", "C"))
    test = table(tmp_path / "test.tsv", [("GGG", "b"), ("TTT", "c")])
    with pytest.raises(UserError, match=rf"{test}, line 3: class 'c' is not in the training data"):
        DnaClassifyDataModule(train, test=test)


def test_one_class_and_too_little_data(tmp_path):
    with pytest.raises(UserError, match="needs at least two"):
        DnaClassifyDataModule(table(tmp_path / "one.tsv", labelled(10, "a", "A")))
    tiny = table(tmp_path / "tiny.tsv", [("A", "a"), ("C", "b")])
    with pytest.raises(UserError, match="too few sequences to carve a val split"):
        DnaClassifyDataModule(tiny)
