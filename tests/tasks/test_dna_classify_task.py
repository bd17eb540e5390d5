"""task=dna_classify from the command line: a run on a lab's table, fine-tuning, bad input."""

import json
import random
from pathlib import Path

import pytest

from seqmodels.cli import main

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"
QUICK = ["trainer.fast_dev_run=true", "model.d_model=16", "model.n_layer=1", "data.batch_size=4"]


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


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dna_classify")


@pytest.fixture(autouse=True)
def isolated(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("SEQMODELS_CACHE", str(workdir / "cache"))


@pytest.fixture(scope="module")
def trained_run(workdir) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        mp.setenv("SEQMODELS_CACHE", str(workdir / "cache"))
        table = write_table(workdir / "train.tsv")
        assert main(["fit", "task=dna_classify", f"data.train={table}", *QUICK]) == 0
    return (workdir / "runs" / "dna_classify" / "latest").resolve()


def one_line_error(capsys, argv: list[str], *expected: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqmodels: error:") and "\n" not in err, err
    assert all(part in err for part in expected), err
    return err


def test_fit_writes_a_run_with_the_classifier_reports(trained_run):
    for name in ("model/config.json", "per_class_test.tsv", "plots/confusion_matrix_test.png"):
        assert (trained_run / name).is_file(), name
    info = json.loads((trained_run / "model" / "config.json").read_text())
    assert info["class_names"] == ["at", "gc"] and info["seq_len"] <= 60
    assert (trained_run / "per_class_test.tsv").read_text().startswith("class\tprecision")


def test_score_the_run_with_test_time_rc_averaging(trained_run, workdir, capsys):
    argv = ["test", "task=dna_classify", f"data.train={workdir / 'train.tsv'}"]
    assert main([*argv, f"ckpt={trained_run}", "head.rc_average=true", *QUICK]) == 0
    assert "test/auroc" in capsys.readouterr().out


def test_fine_tune_a_bidirectional_model_from_the_run(trained_run, workdir):
    argv = [
        "fit",
        "task=dna_classify",
        f"data.train={workdir / 'train.tsv'}",
        f"init_from={trained_run}",
        "model.variant=bidirectional",
        "finetune.freeze_backbone=true",
        *QUICK,
    ]
    assert main(argv) == 0
    info = json.loads((workdir / "runs/dna_classify/latest/model/config.json").read_text())
    assert info["model"]["variant"] == "bidirectional"


def test_predict_a_fasta_with_the_classifier(trained_run, workdir):
    assert main(["predict", str(TINY), f"ckpt={trained_run}", "out=preds", "window=8"]) == 0
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
def test_bad_input_is_one_line_with_file_and_line_and_exit_code_2(capsys, tmp_path, case):
    args, expected = bad_inputs(tmp_path)[case]
    one_line_error(capsys, ["fit", "task=dna_classify", *args, *QUICK], *expected)
    assert not (tmp_path / "runs").exists()


def test_missing_train_file_setting(capsys):
    one_line_error(capsys, ["fit", "task=dna_classify"], "needs data.train=FILE")
