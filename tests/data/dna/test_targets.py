"""task.target: which kind of target the label columns are, and their texts as numbers."""

from pathlib import Path

import numpy as np
import pytest

from seqmodels.data.dna.classify import DnaClassifyDataModule
from seqmodels.data.dna.targets import MAX_AUTO_CLASSES, as_numbers, infer_target
from seqmodels.errors import UserError


@pytest.mark.parametrize(
    "labels, names, target",
    [
        (["liver", "brain", "3"], ["label"], "classification"),
        (["0", "1", "2", "1", "0"], ["label"], "classification"),  # few whole numbers: classes
        (["0.25", "1", "3.5"], ["label"], "regression"),
        (["0.5", "NA", "0.7"], ["label"], "regression"),  # a missing value does not make text
        ([str(i) for i in range(10 * MAX_AUTO_CLASSES)] + ["0.5"], ["label"], "regression"),
        ([("0", "1"), ("1", "1"), ("0", "0")], ["a", "b"], "multilabel"),
        ([("0", "1.5"), ("1", "2"), ("0", "0")], ["a", "b"], "regression"),
    ],
)
def test_auto_reads_the_kind_of_target_from_the_labels(labels, names, target):
    assert infer_target(labels, names, "t.tsv")[0] == target


def test_auto_says_when_whole_numbers_are_read_as_classes():
    _, why = infer_target(["0", "1", "2"], ["label"], "t.tsv")
    assert "3 distinct whole numbers" in why and "task.target=regression" in why


def test_many_distinct_whole_numbers_are_ambiguous():
    labels = [str(i) for i in range(MAX_AUTO_CLASSES + 1)]
    with pytest.raises(UserError, match="class ids or values.*task.target=classification"):
        infer_target(labels, ["label"], "t.tsv")


def test_text_in_one_of_several_columns_is_an_error():
    with pytest.raises(UserError, match="label column 'b' holds text"):
        infer_target([("1", "x"), ("0", "y")], ["a", "b"], "t.tsv")


@pytest.mark.parametrize(
    "text, target, expected",
    [
        ("high", "regression", "'high' in label column 'y' is not a number"),
        ("nan", "regression", "finite number"),
        ("inf", "regression", "finite number"),
        ("2", "multilabel", "a multilabel column holds 0"),
        ("0.5", "multilabel", "a multilabel column holds 0"),
    ],
)
def test_bad_values_name_the_line_and_column(text, target, expected):
    with pytest.raises(UserError, match=expected) as error:
        as_numbers(text, ["y"], "t.tsv, line 7", target)
    assert str(error.value).startswith("t.tsv, line 7: ")


def test_numbers_come_in_the_order_of_the_label_columns():
    values = as_numbers(("1.5", "-2", "3e2"), ["a", "b", "c"], "here", "regression")
    assert values.dtype == np.float32 and values.tolist() == [1.5, -2.0, 300.0]


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows))
    return path


def test_regression_data_keep_the_units_and_the_train_mean_and_std(tmp_path):
    rows = [f"{'ACGT' * (1 + i % 3)}\t{i}.5\t{i % 2}" for i in range(40)]
    path = write(tmp_path / "t.tsv", "sequence\ty\tz", rows)
    data = DnaClassifyDataModule(path, label_columns=["y", "z"], split=(0.5, 0.25, 0.25))
    assert data.target == "regression" and data.target_names == ["y", "z"]
    assert sum(len(v) for v in data.values.values()) == 40  # every row in one split
    train = data.values["train"]
    np.testing.assert_allclose(data.target_mean, train.mean(0), rtol=1e-6)
    np.testing.assert_allclose(data.target_std, train.std(0), rtol=1e-6)
    data.setup("fit")
    item = data.train_dataset[0]
    assert item["label"].shape == (2,) and item["label"].dtype == np.float32
    assert item["label"][0] % 1 == 0.5  # the file's value, not standardised


def test_bed_score_column_is_a_regression_target(tmp_path):
    genome = tmp_path / "ref.fa"
    genome.write_text(">chr1\n" + "ACGTTGCA" * 50 + "\n")
    rows = [f"chr1\t{10 * i}\t{10 * i + 8}\tr{i}\t{i / 4}\t+" for i in range(30)]
    path = write(tmp_path / "t.bed", "track name=x", rows)
    data = DnaClassifyDataModule(
        path, genome=genome, label_columns=["score"], cache_dir=tmp_path / "cache"
    )
    assert data.target == "regression"
    assert sorted(np.concatenate(list(data.values.values()))[:, 0].tolist()) == [
        i / 4 for i in range(30)
    ]


def test_a_label_that_never_changes_is_refused(tmp_path):
    rows = [f"ACGT\t{i % 2}\t0" for i in range(20)]
    path = write(tmp_path / "t.tsv", "sequence\ta\tb", rows)
    with pytest.raises(UserError, match="label column 'b' is 0 in every training sequence"):
        DnaClassifyDataModule(path, label_columns=["a", "b"])


def test_labelled_fasta_stays_classification_even_with_numbers_for_names(tmp_path):
    path = tmp_path / "t.fa"
    path.write_text("".join(f">r{i}|{i % 3 / 2}\nACGTAC\n" for i in range(30)))
    data = DnaClassifyDataModule(path)
    assert data.target == "classification" and data.class_names == ["0.0", "0.5", "1.0"]
