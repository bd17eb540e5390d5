"""`seqmodels predict` on the labelled-data files dna_classify trains on: one line per input row,
in input order, the run's test metrics when the rows carry labels, one-line errors."""

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from seqmodels.cli import main
from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.models.pretrained import build_model, save_pretrained

BUNDLED = Path(__file__).parents[2] / "seqmodels" / "data" / "dna" / "bundled"
PLASMIDS = BUNDLED / "plasmids"
KLEBSIELLA = BUNDLED / "bacteria5" / "klebsiella_pneumoniae.fa.gz"
METRICS = ("acc", "f1", "mcc", "auroc")

pytestmark = pytest.mark.usefixtures("isolated")


def tsv(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(), delimiter="\t"))


def metrics_of(path: Path) -> dict[tuple[str, str], float]:
    """{(metric, class): value} of a .metrics.tsv file ('' is the class of the whole set)."""
    return {(m, c): float(v) for m, c, v in tsv(path)[1:]}


def logged(run: Path, key: str) -> float:
    values = [row[key] for row in csv.DictReader((run / "metrics.csv").open()) if row.get(key)]
    assert values, f"{key} not in {run / 'metrics.csv'}"
    return float(values[-1])


# --- a tiny dna_classify run on the bundled plasmid windows: predict must score what it tested


@pytest.fixture(scope="module")
def plasmid_run(fit_here, quick, workdir) -> Path:
    """Two training steps and the whole test table: seconds, and a model whose test report
    predict must reproduce (fp32, so that a GPU scores the same way too)."""
    fit_here(
        quick(
            "trainer.fast_dev_run=false",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=2",
            "trainer.limit_val_batches=2",
            "trainer.precision=32-true",
            f"data.train={PLASMIDS / 'train.tsv'}",
            f"data.val={PLASMIDS / 'val.tsv'}",
            f"data.test={PLASMIDS / 'test.tsv'}",
            f"data.genome={KLEBSIELLA}",
            task="dna_classify",
        )
    )
    return (workdir / "runs" / "dna_classify" / "latest").resolve()


def test_the_plasmid_test_table_scores_what_the_run_tested(plasmid_run, workdir, capsys):
    # no ckpt=: the newest dna_classify run, runs/dna_classify/latest
    argv = ["predict", str(PLASMIDS / "test.tsv"), f"genome={KLEBSIELLA}", "out=table"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "predictions (each row whole)" in out and "per class (test.tsv)" in out
    scores = metrics_of(workdir / "table" / "test.metrics.tsv")
    for key in METRICS:
        assert scores[key, ""] == pytest.approx(logged(plasmid_run, f"test/{key}"), abs=1e-6), key
    assert scores["rows", ""] == 80
    per_class = {row[0]: row for row in tsv(plasmid_run / "per_class_test.tsv")[1:]}
    for name, (_, precision, recall, f1, support) in per_class.items():
        assert f"{scores['precision', name]:.4f}" == precision
        assert f"{scores['recall', name]:.4f}" == recall and f"{scores['f1', name]:.4f}" == f1
        assert scores["support", name] == int(support)
    rows = tsv(workdir / "table" / "test.predictions.tsv")
    assert rows[0] == ["chrom", "start", "end", "label", "predicted", "p_chromosome", "p_plasmid"]
    assert [row[:4] for row in rows] == tsv(PLASMIDS / "test.tsv")  # input order, as written
    probs = np.array([row[5:] for row in rows[1:]], float)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert [row[4] for row in rows[1:]] == [("chromosome", "plasmid")[i] for i in probs.argmax(1)]


def test_the_same_windows_as_bed_predict_the_same(plasmid_run, workdir, tmp_path):
    bed = tmp_path / "test.bed"
    bed.write_text("".join("\t".join(row) + "\n" for row in tsv(PLASMIDS / "test.tsv")[1:]))
    argv = ["predict", str(bed), f"genome={KLEBSIELLA}", f"ckpt={plasmid_run}", "out=bed"]
    assert main([*argv, "batch_size=7"]) == 0
    tables = [str(PLASMIDS / "test.tsv"), f"genome={KLEBSIELLA}", f"ckpt={plasmid_run}"]
    assert main(["predict", *tables, "out=table_again"]) == 0
    from_bed = tsv(workdir / "bed" / "test.predictions.tsv")
    from_table = tsv(workdir / "table_again" / "test.predictions.tsv")
    assert from_bed[0][:4] == ["chrom", "start", "end", "name"]
    assert [r[:4] for r in from_bed[1:]] == [r[:4] for r in from_table[1:]]
    np.testing.assert_allclose(
        np.array([r[5:] for r in from_bed[1:]], float),
        np.array([r[5:] for r in from_table[1:]], float),
        atol=2e-6,
    )
    scores = metrics_of(workdir / "bed" / "test.metrics.tsv")
    for key in METRICS:
        assert scores[key, ""] == pytest.approx(logged(plasmid_run, f"test/{key}"), abs=1e-6), key


# --- the formats, on a tiny untrained model (no training needed to check the plumbing)


def tiny_model(folder: Path, kind: str = "classifier") -> Path:
    config = ModelConfig(
        d_model=16, n_layer=1, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    card = ModelCard(
        kind=kind,
        task="dna_classify" if kind == "classifier" else "dna_pretrain",
        model=config.to_dict(),
        class_names=["at", "gc"] if kind == "classifier" else None,
        alphabet="dna",
        pad_id=PAD_ID,
        seq_len=32,
    )
    torch.manual_seed(0)
    model = build_model(card).eval()
    with torch.no_grad():  # spread the logits so that rows differ
        for name, param in model.named_parameters():
            if name.endswith("out_proj.weight"):
                param.mul_(5)
    save_pretrained(folder, model, card)
    return folder


@pytest.fixture
def model(tmp_path) -> Path:
    return tiny_model(tmp_path / "model")


@pytest.fixture
def genome(tmp_path) -> Path:
    path = tmp_path / "ref.fa"
    rng = np.random.default_rng(0)
    path.write_text(f">chr1\n{''.join(rng.choice(list('ACGT'), 300))}\n>chr2\nGGCCGGCCAT\n")
    return path


def predict(*args: str) -> None:
    assert main(["predict", *map(str, args)]) == 0


def test_a_table_keeps_its_columns_and_needs_no_labels(model, tmp_path):
    table = tmp_path / "seqs.csv"
    table.write_text('id,note,sequence\nx,"a, b",ACGTTA\ny,,GGGCCCGGGCCCAT\nz,c,AT\n')
    predict(table, f"ckpt={model}", f"out={tmp_path / 'out'}")
    rows = tsv(tmp_path / "out" / "seqs.predictions.tsv")
    assert rows[0] == ["id", "note", "sequence", "predicted", "p_at", "p_gc"]
    assert [r[:3] for r in rows[1:]] == [["x", "a, b", "ACGTTA"], ["y", "", "GGGCCCGGGCCCAT"]] + [
        ["z", "c", "AT"]
    ]
    assert not (tmp_path / "out" / "seqs.metrics.tsv").exists()  # nothing to score


def test_a_row_gets_the_same_prediction_alone_in_a_batch_or_streamed(model, tmp_path, genome):
    table = tmp_path / "regions.tsv"
    lines = [f"chr1\t{s}\t{e}\n" for s, e in [(0, 300), (5, 17), (40, 41), (100, 190), (7, 19)]]
    table.write_text("chrom\tstart\tend\n" + "".join(lines))
    common = (table, f"genome={genome}", f"ckpt={model}")
    predict(*common, f"out={tmp_path / 'batched'}")
    predict(*common, f"out={tmp_path / 'alone'}", "batch_size=1")
    predict(
        *common, f"out={tmp_path / 'streamed'}", "segment=16"
    )  # rows longer than 16 bases streamed

    def probs(folder):
        return np.array([r[4:] for r in tsv(tmp_path / folder / "regions.predictions.tsv")[1:]])

    batched = probs("batched").astype(float)
    assert len(batched) == 5 and not np.allclose(batched[0], batched[1], atol=1e-3)
    for other in ("alone", "streamed"):
        np.testing.assert_allclose(probs(other).astype(float), batched, atol=2e-6)


def test_bed_with_three_columns_and_bed6_minus_strand(model, tmp_path, genome):
    bed = tmp_path / "peaks.bed.gz"
    bed.write_bytes(gzip.compress(b"track name=x\nchr1\t0\t10\nchr2\t0\t10\n"))
    predict(bed, f"genome={genome}", f"ckpt={model}", f"out={tmp_path}")
    rows = tsv(tmp_path / "peaks.predictions.tsv")
    assert [r[:3] for r in rows] == [["chrom", "start", "end"], ["chr1", "0", "10"]] + [
        ["chr2", "0", "10"]
    ]
    six = tmp_path / "six.bed"
    six.write_text("chr2\t0\t10\tgc\t0\t+\nchr2\t0\t10\tgc\t0\t-\n")
    predict(six, f"genome={genome}", f"ckpt={model}", f"out={tmp_path}")
    rows = tsv(tmp_path / "six.predictions.tsv")
    assert rows[0][:6] == ["chrom", "start", "end", "name", "score", "strand"]
    assert rows[1][7] != rows[2][7]  # p_at: the - strand row is read reverse-complemented
    assert metrics_of(tmp_path / "six.metrics.tsv")["rows", ""] == 2


def test_labelled_fasta_and_class_folders(model, tmp_path, capsys):
    fasta = tmp_path / "test.fa"
    fasta.write_text(">s0|at\nAATTAATT\n>s1 GC-rich|gc\nGGCCGGCC\n>s2|at\nATATAT\n")
    predict(fasta, "labelled=true", f"ckpt={model}", f"out={tmp_path / 'fa'}")
    rows = tsv(tmp_path / "fa" / "test.predictions.tsv")
    assert [r[:2] for r in rows] == [["record", "label"], ["s0|at", "at"], ["s1", "gc"]] + [
        ["s2|at", "at"]
    ]
    assert (tmp_path / "fa" / "test.metrics.tsv").is_file()
    root = tmp_path / "dataset"
    for label, text in (("at", ">a\nAATT\n>b\nTTAA\n"), ("gc", "GGCC\n")):
        (root / label).mkdir(parents=True)
        (root / label / "seqs.fa").write_text(text)
    predict(root, f"ckpt={model}", f"out={tmp_path / 'dir'}")
    rows = tsv(tmp_path / "dir" / "dataset.predictions.tsv")
    assert [r[:3] for r in rows] == [
        ["file", "record", "class"],
        [str(Path("at", "seqs.fa")), "a", "at"],
        [str(Path("at", "seqs.fa")), "b", "at"],
        [str(Path("gc", "seqs.fa")), "", "gc"],
    ]
    assert metrics_of(tmp_path / "dir" / "dataset.metrics.tsv")["support", "at"] == 2
    assert "dataset" in capsys.readouterr().out


def test_a_fasta_without_labelled_true_is_still_a_genome(model, tmp_path):
    fasta = tmp_path / "genome.fa"
    fasta.write_text(">s0|at\nAATTAATTAATT\n")  # a bar in the id does not make it a table
    predict(fasta, f"ckpt={model}", f"out={tmp_path}", "window=4")
    assert (tmp_path / "genome.records.tsv").is_file()
    assert not (tmp_path / "genome.predictions.tsv").exists()


def test_only_the_rows_with_a_label_are_scored(model, tmp_path):
    table = tmp_path / "some.tsv"
    table.write_text("sequence\tlabel\nAATTAATT\tat\nGGCC\t\nGGCCGGCC\tgc\n")
    predict(table, f"ckpt={model}", f"out={tmp_path}")
    assert [r[1] for r in tsv(tmp_path / "some.predictions.tsv")] == ["label", "at", "", "gc"]
    scores = metrics_of(tmp_path / "some.metrics.tsv")
    assert scores["rows", ""] == 2 and scores["support", "at"] == scores["support", "gc"] == 1


def test_a_txt_file_is_a_table_unless_it_starts_like_fasta(model, tmp_path):
    rows, fasta = tmp_path / "rows.txt", tmp_path / "chr.txt.gz"
    rows.write_text("sequence\nACGTAC\n")
    fasta.write_bytes(gzip.compress(b">chr1\nACGTACGTACGT\n"))
    predict(rows, f"ckpt={model}", f"out={tmp_path}")
    predict(fasta, f"ckpt={model}", f"out={tmp_path}", "window=4")
    assert (tmp_path / "rows.predictions.tsv").is_file() and (
        tmp_path / "chr.records.tsv"
    ).is_file()


def test_labelled_false_ignores_a_name_column_that_holds_no_classes(model, tmp_path, genome):
    bed = tmp_path / "peaks.bed"
    bed.write_text("chr1\t0\t10\tpeak_1\nchr1\t20\t40\tpeak_2\n")
    predict(bed, f"genome={genome}", f"ckpt={model}", "labelled=false", f"out={tmp_path}")
    assert [r[3] for r in tsv(tmp_path / "peaks.predictions.tsv")] == ["name", "peak_1", "peak_2"]
    assert not (tmp_path / "peaks.metrics.tsv").exists()


def test_python_api_predicts_the_rows_of_a_table(model, tmp_path, genome):
    import seqmodels

    table = tmp_path / "regions.tsv"
    table.write_text("chrom\tstart\tend\tlabel\nchr1\t0\t50\tat\nchr2\t0\t10\tgc\n")
    predict(table, f"genome={genome}", f"ckpt={model}", f"out={tmp_path}")
    rows = seqmodels.load(model).predict_table(table, genome=genome)
    assert [(r.label, dict(r.fields)["chrom"]) for r in rows] == [("at", "chr1"), ("gc", "chr2")]
    written = np.array([r[5:] for r in tsv(tmp_path / "regions.predictions.tsv")[1:]], float)
    np.testing.assert_allclose(np.stack([r.probabilities for r in rows]), written, atol=1e-6)
    assert [r.predicted for r in rows] == [
        r[4] for r in tsv(tmp_path / "regions.predictions.tsv")[1:]
    ]


# --- one-line errors; nothing written


def bad_inputs(folder: Path, model: Path, genome: Path) -> dict[str, tuple[list[str], list[str]]]:
    """predict arguments with one mistake each, and what the one-line error must say."""
    files = {
        "bed-without-genome": ("a.bed", "chr1\t0\t10\tat\n"),
        "table-without-genome": ("a.tsv", "chrom\tstart\tend\nchr1\t0\t10\n"),
        "unknown-chromosome": ("b.bed", "chr1\t0\t10\tat\nchrX\t0\t10\tgc\n"),
        "label-not-a-class": ("c.tsv", "sequence\tlabel\nACGT\tat\nACGT\tunseen\n"),
        "empty-table": ("d.tsv", ""),
        "empty-bed": ("e.bed", "track name=empty\n"),
        "empty-labelled-fasta": ("f.fa", ""),
    }
    paths = {}
    for case, (name, text) in files.items():
        paths[case] = folder / name
        paths[case].write_text(text)
    lm = tiny_model(folder / "lm", kind="lm")
    ok = folder / "ok.tsv"
    ok.write_text("sequence\nACGT\n")
    fa = folder / "ref_copy.fa"
    fa.write_text(">chr1\nACGTACGT\n")
    with_model = [f"ckpt={model}"]
    return {
        "bed-without-genome": (
            [paths["bed-without-genome"], *with_model],
            [f"{paths['bed-without-genome']}, line 1", "coordinates need the genome", " genome="],
        ),
        "table-without-genome": (
            [paths["table-without-genome"], *with_model],
            ["line 2", "coordinates need the genome"],
        ),
        "unknown-chromosome": (
            [paths["unknown-chromosome"], f"genome={genome}", *with_model],
            ["line 2", "chromosome 'chrX' is not in ref.fa"],
        ),
        "label-not-a-class": (
            [paths["label-not-a-class"], *with_model],
            [f"{paths['label-not-a-class']}, line 3", "'unseen' is not one of the model's classes"],
        ),
        "language-model": (
            [ok, f"ckpt={lm}"],
            ["not a DNA classifier, regression or multi-label model but", "language model"],
        ),
        "empty-table": ([paths["empty-table"], *with_model], ["d.tsv is empty"]),
        "empty-bed": ([paths["empty-bed"], f"genome={genome}", *with_model], ["no BED rows"]),
        "empty-labelled-fasta": (
            [paths["empty-labelled-fasta"], "labelled=true", *with_model],
            ["f.fa is empty"],
        ),
        "genome-for-a-genome": ([fa, f"genome={genome}", *with_model], ["genome= goes with"]),
        "window-for-a-table": ([ok, "window=8", *with_model], ["window= and stride= go with"]),
        "table-and-genome": ([ok, fa, *with_model], ["predict them in separate commands"]),
        "same-output-name": (
            [ok, folder / "again" / "ok.tsv", *with_model],
            ["would both write ok.predictions.tsv"],
        ),
        "labelled-table-without-labels": (
            [ok, "labelled=true", *with_model],
            ["no 'label' column"],
        ),
    }


CASES = [
    "bed-without-genome",
    "table-without-genome",
    "unknown-chromosome",
    "label-not-a-class",
    "language-model",
    "empty-table",
    "empty-bed",
    "empty-labelled-fasta",
    "genome-for-a-genome",
    "window-for-a-table",
    "table-and-genome",
    "same-output-name",
    "labelled-table-without-labels",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_writes_nothing(one_line_error, model, genome, tmp_path, case):
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "ok.tsv").write_text("sequence\nGGCC\n")
    args, expected = bad_inputs(tmp_path, model, genome)[case]
    error = one_line_error(["predict", *map(str, args), f"out={tmp_path / 'out'}"], *expected)
    assert "data.genome" not in error  # fit's key; predict's is genome=
    assert not (tmp_path / "out").exists()


def test_a_failed_predict_leaves_out_as_it_was(model, genome, tmp_path, one_line_error):
    good, bad = tmp_path / "good.tsv", tmp_path / "bad.tsv"
    good.write_text("sequence\tlabel\nACGT\tat\n")
    bad.write_text("sequence\tlabel\nACGT\tat\nGGCC\tgc\nACGT\tunseen\n")
    out = tmp_path / "out"
    predict(good, f"ckpt={model}", f"out={out}")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"good.predictions.tsv", "good.metrics.tsv"}
    # good.tsv's predictions would be written again: they must not be, nor half of bad.tsv's
    (out / "good.predictions.tsv").write_text("an earlier result\n")
    before["good.predictions.tsv"] = b"an earlier result\n"
    one_line_error(["predict", str(good), str(bad), f"ckpt={model}", f"out={out}"], "line 4")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# --- regression and multi-label runs: predict scores their test tables as the runs did

TARGET_RUN = (
    "model.d_model=16",
    "model.n_layer=1",
    "model.d_state=4",
    "data.batch_size=16",
    "optim.lr=0.02",
    "optim.warmup_steps=1",
    "trainer.max_steps=6",  # a few steps: predict must reproduce the report, not a good model
    "trainer.precision=32-true",
)


def composition_table(path: Path, n: int, seed: int) -> Path:
    """Sequences of 20 to 40 bases, each of its own base composition, with numeric columns
    gc_pct (GC percent: a mean far from 0) and a (fraction) and 0/1 columns gc_high, a_high."""
    rng = np.random.default_rng(seed)
    lines = ["sequence\tgc_pct\ta\tgc_high\ta_high\n"]
    for _ in range(n):
        seq = "".join(rng.choice(list("ACGT"), int(rng.integers(20, 41)), p=rng.dirichlet([1] * 4)))
        gc, a = (seq.count("G") + seq.count("C")) / len(seq), seq.count("A") / len(seq)
        lines.append(f"{seq}\t{100 * gc:.2f}\t{a:.4f}\t{int(gc > 0.5)}\t{int(a > 0.25)}\n")
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def composition(workdir) -> dict[str, Path]:
    sizes = {"train": 96, "val": 32, "test": 48}
    return {
        name: composition_table(workdir / f"{name}.tsv", n, seed)
        for seed, (name, n) in enumerate(sizes.items())
    }


def target_run(workdir: Path, composition: dict[str, Path], folder: str, columns: str) -> Path:
    data = [f"data.{name}={path}" for name, path in composition.items()]
    argv = ["task=dna_classify", *data, *TARGET_RUN, f"data.label_columns={columns}"]
    (workdir / folder).mkdir()
    with pytest.MonkeyPatch.context() as mp:  # a run of its own; the genome cache of the module
        mp.chdir(workdir / folder)
        mp.setenv("SEQMODELS_CACHE", str(workdir / "cache"))
        assert main(["fit", *argv]) == 0
    return (workdir / folder / "runs" / "dna_classify" / "latest").resolve()


@pytest.fixture(scope="module")
def regression_run(workdir, composition) -> Path:
    return target_run(workdir, composition, "regression", "[gc_pct,a]")


@pytest.fixture(scope="module")
def multilabel_run(workdir, composition) -> Path:
    return target_run(workdir, composition, "multilabel", "[gc_high,a_high]")


def test_a_regressor_scores_its_test_table_as_its_run_did(regression_run, composition, capsys):
    test = composition["test"]
    predict(test, f"ckpt={regression_run}", "out=regression")
    out = capsys.readouterr().out
    assert "per target (test.tsv)" in out and "gc_pct mean" in out
    scores = metrics_of(Path("regression") / "test.metrics.tsv")
    for key in ("pearson", "spearman", "r2"):
        assert scores[key, ""] == pytest.approx(logged(regression_run, f"test/{key}"), abs=1e-5)
        for target in ("gc_pct", "a"):
            run = logged(regression_run, f"test/{key}_{target}")
            assert scores[key, target] == pytest.approx(run, abs=1e-5), (key, target)
    assert scores["rows", ""] == scores["n", "a"] == 48
    rows = tsv(Path("regression") / "test.predictions.tsv")
    assert rows[0] == [*tsv(test)[0], "predicted_gc_pct", "predicted_a"]
    assert [r[:5] for r in rows] == tsv(test)  # the input's rows, in order
    predicted = np.array([r[5:] for r in rows[1:]], float)
    truth = np.array([r[1:3] for r in rows[1:]], float)
    # the data's units (GC percent around 50), not the head's standard units (around 0)
    assert abs(predicted[:, 0].mean() - truth[:, 0].mean()) < 10 and predicted[:, 0].mean() > 25
    # the Python API gives the same values
    import seqmodels

    api = seqmodels.load(regression_run).predict_table(test)
    np.testing.assert_allclose(np.stack([r.values for r in api]), predicted, rtol=1e-6)
    assert api[0].label == tuple(tsv(test)[1][1:3])


def test_a_multilabel_model_scores_its_test_table_as_its_run_did(multilabel_run, composition):
    test = composition["test"]
    predict(test, f"ckpt={multilabel_run}", "out=multilabel")
    scores = metrics_of(Path("multilabel") / "test.metrics.tsv")
    for key in ("auroc", "auprc"):
        assert scores[key, ""] == pytest.approx(logged(multilabel_run, f"test/{key}"), abs=1e-5)
    positives = sum(int(r[3]) for r in tsv(test)[1:])
    assert scores["positives", "gc_high"] == positives
    rows = tsv(Path("multilabel") / "test.predictions.tsv")
    assert rows[0][5:] == ["predicted", "p_gc_high", "p_a_high"]
    for row in rows[1:]:
        p = np.array(row[6:], float)
        assert ((p >= 0) & (p <= 1)).all()
        called = [name for name, q in zip(("gc_high", "a_high"), p, strict=True) if q >= 0.5]
        assert row[5] == (",".join(called) or ".")


def test_a_table_without_the_target_columns_is_predicted_unscored(regression_run, tmp_path):
    table = tmp_path / "new.csv"
    table.write_text("id,sequence\nx,ACGTACGTAA\ny,GGGCCCGCGC\n")
    predict(table, f"ckpt={regression_run}", f"out={tmp_path / 'out'}")
    rows = tsv(tmp_path / "out" / "new.predictions.tsv")
    assert rows[0] == ["id", "sequence", "predicted_gc_pct", "predicted_a"] and len(rows) == 3
    assert not (tmp_path / "out" / "new.metrics.tsv").exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sequence\tgc_pct\ta\nACGT\t50\t0.25\nACGT\thigh\t0.2\n", ["line 3", "'high'", "gc_pct"]),
        ("sequence\tgc_pct\ta\nACGT\t50\tNaN\n", ["line 2", "finite"]),
    ],
    ids=["not-a-number", "nan"],
)
def test_a_regressor_refuses_a_label_that_is_not_a_number(
    regression_run, tmp_path, one_line_error, text, expected
):
    table = tmp_path / "bad.tsv"
    table.write_text(text)
    argv = ["predict", str(table), f"ckpt={regression_run}", f"out={tmp_path / 'out'}"]
    one_line_error(argv, str(table), *expected)
    assert not (tmp_path / "out").exists()


def test_a_multilabel_model_refuses_a_label_other_than_0_or_1(
    multilabel_run, tmp_path, one_line_error
):
    table = tmp_path / "bad.tsv"
    table.write_text("sequence\tgc_high\ta_high\nACGT\t0\t1\nACGT\t2\t0\n")
    argv = ["predict", str(table), f"ckpt={multilabel_run}", f"out={tmp_path / 'out'}"]
    one_line_error(argv, "line 3", "'2'", "gc_high")
    assert not (tmp_path / "out").exists()


def test_labelled_true_needs_the_target_columns(regression_run, tmp_path, one_line_error):
    table = tmp_path / "plain.tsv"
    table.write_text("sequence\nACGT\n")
    argv = ["predict", str(table), "labelled=true", f"ckpt={regression_run}", f"out={tmp_path}"]
    error = one_line_error(argv, "no 'gc_pct' column", "target_names")
    assert "data.label_columns" not in error


def test_a_bed_file_is_scored_only_by_its_name_or_score_column(
    regression_run, genome, tmp_path, one_line_error
):
    bed = tmp_path / "peaks.bed"
    bed.write_text("chr1\t0\t30\tpeak_1\nchr1\t40\t80\tpeak_2\n")
    # the targets are gc_pct and a, not BED's name or score: predicted, not scored
    predict(bed, f"genome={genome}", f"ckpt={regression_run}", f"out={tmp_path / 'out'}")
    rows = tsv(tmp_path / "out" / "peaks.predictions.tsv")
    assert rows[0] == ["chrom", "start", "end", "name", "predicted_gc_pct", "predicted_a"]
    assert not (tmp_path / "out" / "peaks.metrics.tsv").exists()
    argv = ["predict", str(bed), f"genome={genome}", f"ckpt={regression_run}", "labelled=true"]
    one_line_error([*argv, f"out={tmp_path / 'none'}"], "gc_pct, a", "not columns of BED")
    assert not (tmp_path / "none").exists()
