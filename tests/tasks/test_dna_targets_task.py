"""task=dna_classify with numeric targets: regression and multi-label runs learn, write their
reports, keep what a later prediction needs in the model card, and refuse bad input in one line.

The synthetic sequences draw their bases from a composition of their own, so the targets (GC
fraction, A fraction, whether GC or A is high) are simple functions of the sequence that a tiny
model learns in a few dozen steps. Torch runs on one thread, as in test_learning.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from seqmodels.cli import main
from seqmodels.data.dna.classify import DnaClassifyDataModule, pad_batch
from seqmodels.data.dna.tokens import COMPLEMENT, VOCAB_SIZE, encode
from seqmodels.io.model_card import ModelCard
from seqmodels.models import LanguageModel, ModelConfig
from seqmodels.models.pretrained import load_pretrained, save_pretrained

BASES = np.array(list("ACGT"))
LEARN = (
    "model.d_model=16",
    "model.n_layer=1",
    "model.d_state=4",
    "data.batch_size=32",
    "optim.lr=0.02",
    "optim.warmup_steps=2",
    "trainer.max_steps=45",  # three epochs of 15 batches
)


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    """Runs, caches and one torch thread in `folder` (fixtures of any scope use it)."""
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("SEQMODELS_CACHE", str(folder / "cache"))
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def isolated(workdir) -> Iterator[None]:
    with inside(workdir):
        yield


def sequences(n: int, seed: int) -> list[str]:
    """Sequences of 30 to 50 bases, each with its own base composition (Dirichlet)."""
    rng = np.random.default_rng(seed)
    return [
        "".join(rng.choice(BASES, int(rng.integers(30, 51)), p=rng.dirichlet(np.ones(4))))
        for _ in range(n)
    ]


def fraction(seq: str, bases: str) -> float:
    return sum(seq.count(b) for b in bases) / len(seq)


def write_table(path: Path, seqs: list[str]) -> Path:
    """Columns gc, a (fractions), gc_high, a_high (0/1) and ab (text) beside the sequence."""
    lines = ["sequence\tgc\ta\tgc_high\ta_high\tab\n"]
    for s in seqs:
        gc, a = fraction(s, "GC"), fraction(s, "A")
        lines.append(
            f"{s}\t{gc:.4f}\t{a:.4f}\t{int(gc > 0.5)}\t{int(a > 0.25)}\t{'ab'[gc > 0.5]}\n"
        )
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def tables(workdir) -> list[str]:
    """data.train/val/test= overrides of three synthetic tables."""
    sizes = {"train": 480, "val": 64, "test": 128}
    return [
        f"data.{name}={write_table(workdir / f'{name}.tsv', sequences(n, seed))}"
        for seed, (name, n) in enumerate(sizes.items())
    ]


def logged(run: Path) -> dict[str, float]:
    """The last value of every key in the run's metrics.csv."""
    out = {}
    for row in csv.DictReader((run / "metrics.csv").open()):
        out.update({key: float(value) for key, value in row.items() if value})
    return out


def fit(workdir: Path, *argv: str) -> Path:
    assert main(["fit", "task=dna_classify", *argv]) == 0
    return (workdir / "runs" / "dna_classify" / "latest").resolve()


@pytest.fixture(scope="module")
def regression_run(workdir, tables) -> Path:
    with inside(workdir):
        return fit(workdir, *tables, *LEARN, "data.label_columns=[gc,a]")


def test_regression_learns_two_targets_and_writes_its_report(regression_run):
    metrics = logged(regression_run)
    assert metrics["test/pearson_gc"] > 0.8 and metrics["test/pearson_a"] > 0.8
    assert metrics["test/r2_gc"] > 0.5 and metrics["test/spearman_a"] > 0.8
    mean = (metrics["test/pearson_gc"] + metrics["test/pearson_a"]) / 2
    assert metrics["test/pearson"] == pytest.approx(mean, abs=1e-5)  # the plain name: the mean
    assert "val/pearson_gc" in metrics and "val/r2" in metrics
    assert (regression_run / "plots" / "scatter_test.png").stat().st_size > 10_000
    rows = list(csv.DictReader((regression_run / "per_target_test.tsv").open(), delimiter="\t"))
    assert [row["target"] for row in rows] == ["gc", "a"]
    assert float(rows[0]["pearson"]) == pytest.approx(metrics["test/pearson_gc"], abs=1e-3)
    assert rows[0]["n"] == "128"
    assert "val/pearson" in (regression_run / "config.yaml").read_text()  # the monitor


def test_the_card_brings_predictions_back_in_the_data_units(regression_run, workdir):
    card = json.loads((regression_run / "model" / "config.json").read_text())
    assert card["kind"] == "regressor" and card["target_names"] == ["gc", "a"]
    train = [row for row in csv.DictReader((workdir / "train.tsv").open(), delimiter="\t")]
    gc = np.array([float(row["gc"]) for row in train])
    assert card["target_mean"][0] == pytest.approx(gc.mean(), rel=1e-6)
    assert card["target_std"][0] == pytest.approx(gc.std(), rel=1e-6)

    test = sequences(128, 2)
    items = [{"tokens": torch.from_numpy(encode(s).astype(np.int64)), "label": 0} for s in test]
    tokens = pad_batch(items)["tokens"]
    predictions = []
    for source in (regression_run / "model", regression_run / "checkpoints" / "best.ckpt"):
        model, loaded = load_pretrained(source)
        with torch.no_grad():
            values = model(tokens, tokens != loaded.pad_id)
            standard = model.standardised(tokens, tokens != loaded.pad_id)
        # what a predict command does with a card: mean + std * the head's standard units
        mean, std = torch.tensor(loaded.target_mean), torch.tensor(loaded.target_std)
        torch.testing.assert_close(values, mean + std * standard)
        predictions.append(values)
    torch.testing.assert_close(predictions[0], predictions[1])  # model/ and the checkpoint agree
    truth = np.array([fraction(s, "GC") for s in test])
    got = predictions[0][:, 0].numpy()
    assert np.corrcoef(truth, got)[0, 1] > 0.8
    assert abs(got.mean() - truth.mean()) < 0.05  # fractions, not standard units


def test_scoring_the_regressor_again_uses_its_training_mean_and_std(regression_run, tables, capsys):
    argv = ["test", "task=dna_classify", *tables, "data.label_columns=[gc,a]"]
    assert main([*argv, f"ckpt={regression_run}", "data.batch_size=64"]) == 0
    out = capsys.readouterr().out
    logged_before = logged(regression_run)["test/pearson_gc"]
    line = next(line for line in out.splitlines() if "test/pearson_gc" in line)
    assert float(line.split()[-2]) == pytest.approx(logged_before, abs=2e-3)


def test_multilabel_learns_each_label(workdir, tables):
    run = fit(workdir, *tables, *LEARN, "data.label_columns=[gc_high,a_high]")
    metrics = logged(run)
    assert metrics["test/auroc_gc_high"] > 0.8 and metrics["test/auroc_a_high"] > 0.8
    assert metrics["test/auroc"] > 0.8 and metrics["test/auprc"] > 0.7
    card = json.loads((run / "model" / "config.json").read_text())
    assert card["kind"] == "multilabel" and card["target_names"] == ["gc_high", "a_high"]
    header = (run / "per_target_test.tsv").read_text().splitlines()[0]
    assert header.split("\t") == ["target", "auroc", "auprc", "positives", "n"]


def test_one_target_logs_the_plain_names_and_fine_tunes_from_a_pretrained_lm(workdir, tables):
    config = ModelConfig.preset(
        "dna-tiny", d_model=16, n_layer=1, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    lm = LanguageModel(config)
    card = ModelCard(kind="lm", model=config.to_dict(), alphabet="dna", pad_id=0, unit="base")
    source = save_pretrained(workdir / "lm" / "model", lm, card)
    one_epoch = [*LEARN[:-1], "trainer.max_steps=15"]
    argv = [*one_epoch, *tables, "data.label_columns=[gc]", "task.loss=huber"]
    run = fit(workdir, *argv, f"init_from={source}", "finetune.freeze_backbone=true")
    assert {"test/pearson", "test/spearman", "test/r2"} <= logged(run).keys()
    assert not any(key.startswith("test/pearson_") for key in logged(run))
    model, _ = load_pretrained(run)
    for key, value in lm.backbone.state_dict().items():  # frozen: the LM's backbone as it was
        torch.testing.assert_close(model.backbone.state_dict()[key], value)


def bad_inputs(folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Arguments with one mistake each, and what the one-line error must say."""
    texts = {
        "not-a-number": ("a.tsv", "sequence\ty\nACGT\t0.5\nACGT\thigh\n", ["line 3", "'high'"]),
        "nan": ("b.tsv", "sequence\ty\nACGT\t0.5\nACGT\tNaN\nACGT\t0.7\n", ["line 3", "finite"]),
        "empty": ("c.tsv", "sequence\ty\nACGT\t0.5\nACGT\t\n", ["line 3", "column 'y'"]),
        "multilabel-2": ("d.tsv", "sequence\ty\tz\nACGT\t0\t1\nACGT\t2\t0\n", ["line 3", "'2'"]),
        "no-such-column": ("e.tsv", "sequence\ty\nACGT\t0.5\n", ["line 1", "no 'w' column"]),
        "ambiguous": (
            "f.tsv",
            "sequence\ty\n" + "".join(f"ACGT\t{i}\n" for i in range(12)),
            ["12 distinct whole numbers", "task.target="],
        ),
        "text-in-several": ("g.tsv", "sequence\ty\tz\nACGT\t1\tx\n", ["'z' holds text"]),
        "constant": ("h.tsv", "sequence\ty\n" + "ACGT\t0.5\n" * 20, ["same value in every"]),
    }
    columns = {"multilabel-2": "[y,z]", "text-in-several": "[y,z]", "no-such-column": "[w]"}
    targets = {"not-a-number": "regression", "multilabel-2": "multilabel"}
    cases = {}
    for case, (name, text, expected) in texts.items():
        path = folder / name
        path.write_text(text)
        argv = [f"data.train={path}", f"data.label_columns={columns.get(case, '[y]')}"]
        if case in targets:
            argv.append(f"task.target={targets[case]}")
        cases[case] = (argv, [str(path), *expected])
    (folder / "classes" / "x").mkdir(parents=True)
    (folder / "classes" / "x" / "a.fa").write_text(">r\nACGT\n")
    fasta = folder / "l.fa"
    fasta.write_text(">r|0.5\nACGT\n")
    fine = folder / "fine.tsv"
    fine.write_text("sequence\ty\n" + "".join(f"ACGT\t{i / 10}\n" for i in range(20)))
    cases |= {
        "regression-on-folders": (
            [f"data.train={folder / 'classes'}", "task.target=regression"],
            ["class folders", "are classes"],
        ),
        "regression-on-fasta": ([f"data.train={fasta}", "task.target=regression"], ["l.fa"]),
        "bad-target": ([f"data.train={fine}", "task.target=numbers"], ["choose one of"]),
        "bad-loss": (
            [f"data.train={fine}", "data.label_columns=[y]", "task.loss=l1"],
            ["task.loss=l1", "mse, huber"],
        ),
        "classes-from-several": (
            [f"data.train={fine}", "data.label_columns=[y,y]", "task.target=classification"],
            ["one label column"],
        ),
    }
    return cases


CASES = [
    "not-a-number",
    "nan",
    "empty",
    "multilabel-2",
    "no-such-column",
    "ambiguous",
    "text-in-several",
    "constant",
    "regression-on-folders",
    "regression-on-fasta",
    "bad-target",
    "bad-loss",
    "classes-from-several",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_leaves_earlier_runs_as_they_were(
    one_line_error, quick, regression_run, workdir, tmp_path, case
):
    runs = workdir / "runs" / "dna_classify"
    before = {path: path.stat().st_mtime_ns for path in runs.rglob("*") if path.is_file()}
    latest = (runs / "latest").resolve()
    args, expected = bad_inputs(tmp_path)[case]
    one_line_error(["fit", *quick(task="dna_classify"), *args], *expected)
    after = {path: path.stat().st_mtime_ns for path in runs.rglob("*") if path.is_file()}
    assert after == before and (runs / "latest").resolve() == latest


def test_the_ridge_baseline_and_the_run_score_the_same_test_rows(regression_run, workdir):
    path = Path(__file__).parents[2] / "benchmarks" / "kmer_baseline.py"
    spec = importlib.util.spec_from_file_location("kmer_baseline", path)
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)
    files = {name: workdir / f"{name}.tsv" for name in ("train", "val", "test")}
    data = DnaClassifyDataModule(**files, label_columns=["gc", "a"])
    data.setup()
    y_test, y_ridge, note = baseline.ridge_baseline(data, k=1)
    assert "alpha=" in note and y_ridge.shape == y_test.shape == (128, 2)
    # the spectra count both strands: G+C exactly, but A only as A+T
    pearson = baseline.regression_scores(y_test, y_ridge)["pearson"]
    assert pearson[0] > 0.99 and pearson[1] < 0.8
    y_run = baseline.model_values(regression_run, data.test_dataset)
    scores = baseline.regression_scores(y_test, y_run)
    assert scores["pearson"][0] == pytest.approx(
        logged(regression_run)["test/pearson_gc"], abs=2e-3
    )
