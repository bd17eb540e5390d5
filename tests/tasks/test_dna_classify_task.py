"""task=dna_classify from the command line: a run on a lab's table, fine-tuning, bad input."""

import json
import random
from pathlib import Path

import pytest

from seqmodels.cli import main

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"


def write_table(path: Path, seed: int = 0) -> Path:
    """GC-rich against AT-rich sequences of 20 to 60 bases."""
    rng = random.Random(seed)
    lines = ["sequence\tlabel\n"]
    for i in range(40):
        label = ("at", "gc")[i % 2]
        bases = "AATTC" if label == "at" else "GGCCA"
        lines.append("".join(rng.choices(bases, k=rng.randint(20, 60))) + f"\t{label}\n")
    path.write_text("".join(lines))
    return path


pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture(scope="module")
def classify(quick) -> list[str]:
    """task=dna_classify and the overrides of a tiny fast_dev_run."""
    return quick(task="dna_classify")


@pytest.fixture(scope="module")
def classifier_run(workdir, fit_here, classify) -> Path:
    table = write_table(workdir / "train.tsv")
    fit_here([*classify, f"data.train={table}"])
    return (workdir / "runs" / "dna_classify" / "latest").resolve()


def test_fit_writes_a_run_with_the_classifier_reports(classifier_run):
    for name in ("model/config.json", "per_class_test.tsv", "plots/confusion_matrix_test.png"):
        assert (classifier_run / name).is_file(), name
    info = json.loads((classifier_run / "model" / "config.json").read_text())
    assert info["class_names"] == ["at", "gc"] and info["seq_len"] <= 60
    assert (classifier_run / "per_class_test.tsv").read_text().startswith("class\tprecision")


def test_score_the_run_with_test_time_rc_averaging(classifier_run, classify, workdir, capsys):
    argv = ["test", *classify, f"data.train={workdir / 'train.tsv'}"]
    assert main([*argv, f"ckpt={classifier_run}", "head.rc_average=true"]) == 0
    assert "test/auroc" in capsys.readouterr().out


def test_fine_tune_a_bidirectional_model_from_the_run(classifier_run, classify, workdir):
    argv = [
        "fit",
        *classify,
        f"data.train={workdir / 'train.tsv'}",
        f"init_from={classifier_run}",
        "model.variant=bidirectional",
        "finetune.freeze_backbone=true",
    ]
    assert main(argv) == 0
    info = json.loads((workdir / "runs/dna_classify/latest/model/config.json").read_text())
    assert info["model"]["variant"] == "bidirectional"


def test_predict_a_fasta_with_the_classifier(classifier_run, workdir):
    assert main(["predict", str(TINY), f"ckpt={classifier_run}", "out=preds", "window=8"]) == 0
    rows = (workdir / "preds" / "tiny.records.tsv").read_text().splitlines()
    assert rows[0].split("\t")[4:] == ["p_at", "p_gc"] and len(rows) == 4


def bad_inputs(folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Command-line arguments with one mistake each, and what the error must say."""
    genome = folder / "ref.fa"
    genome.write_text(">chr1\n" + "ACGT" * 25 + "\n")
    files = {
        "no-label-column": ("a.tsv", "sequence\tclass\nACGT\tx\n"),
        "empty-label": ("b.tsv", "sequence\tlabel\nACGT\tx\nACGT\t\n"),
        "bad-base": ("c.tsv", "sequence\tlabel\nACGT\tx\nAC*T\ty\n"),
        "field-count": ("d.csv", "sequence,label\nACGT,x\nACGT,y,z\n"),
        "chrom-not-in-genome": ("e.bed", "chr1\t0\t10\tx\nchr9\t0\t10\ty\n"),
        "end-past-chrom-end": ("f.bed", "chr1\t0\t10\tx\nchr1\t90\t101\ty\n"),
        "start-not-before-end": ("g.bed", "chr1\t20\t10\tx\n"),
    }
    lines = {
        "no-label-column": "line 1",
        "empty-label": "line 3",
        "bad-base": "line 3",
        "field-count": "line 3",
        "chrom-not-in-genome": "line 2",
        "end-past-chrom-end": "line 2",
        "start-not-before-end": "line 1",
    }
    cases = {}
    for case, (name, text) in files.items():
        path = folder / name
        path.write_text(text)
        cases[case] = (
            [f"data.train={path}", f"data.genome={genome}"],
            [str(path), lines[case]],
        )
    train = write_table(folder / "train.tsv")
    test = folder / "test.tsv"
    test.write_text("sequence\tlabel\nACGT\tat\nACGT\tunseen\n")
    cases["class-only-in-test"] = (
        [f"data.train={train}", f"data.test={test}"],
        [str(test), "line 3", "class 'unseen' is not in the training data"],
    )
    cases["init-from-nothing"] = (
        [f"data.train={train}", f"init_from={folder / 'no_run'}"],
        [str(folder / "no_run"), "no such run"],
    )
    return cases


CASES = [
    "no-label-column",
    "empty-label",
    "bad-base",
    "field-count",
    "chrom-not-in-genome",
    "end-past-chrom-end",
    "start-not-before-end",
    "class-only-in-test",
    "init-from-nothing",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_with_file_and_line_and_exit_code_2(
    one_line_error, classify, tmp_path, case
):
    args, expected = bad_inputs(tmp_path)[case]
    one_line_error(["fit", *classify, *args], *expected)
    assert not (tmp_path / "runs").exists()


def test_missing_train_file_setting(one_line_error):
    one_line_error(["fit", "task=dna_classify"], "needs data.train=FILE")
