"""The command line end to end: fit (fast_dev_run), predict, test, and one-line errors (exit 2)."""

import gzip
import random
import subprocess
import sys
from pathlib import Path

import pytest

from seqmodels.cli import main
from seqmodels.data.dna.species import bundled_genomes

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"
pytestmark = pytest.mark.usefixtures("isolated")


def test_fit_writes_a_complete_run(trained_run):
    for name in ("config.yaml", "model/config.json", "model/model.safetensors"):
        assert (trained_run / name).is_file(), name
    assert (trained_run / "plots" / "confusion_matrix_test.png").is_file()


def test_predict_writes_tables_and_names_a_species(trained_run, workdir, capsys):
    run_root = f"run_root={trained_run.parents[1]}"  # its runs/dna_species/latest
    assert main(["predict", str(TINY), run_root, "out=preds", "window=8", "stride=4"]) == 0
    rows = (workdir / "preds" / "tiny.records.tsv").read_text().splitlines()
    header = rows[0].split("\t")
    assert header[:4] == ["record", "length", "windows", "predicted"]
    assert [f"p_{name}" for name in sorted(bundled_genomes())] == header[4:]
    assert [row.split("\t")[0] for row in rows[1:]] == ["chr1", "chr2", "plasmid_3"]
    assert all(row.split("\t")[3] in bundled_genomes() for row in rows[1:])
    bed = (workdir / "preds" / "tiny.windows.bed").read_text().splitlines()
    # chr1: 23 bases → windows at 0, 4, 8, 12 and the last one shifted to end at 23
    chr1 = [line.split("\t")[1:3] for line in bed[1:] if line.startswith("chr1\t")]
    assert chr1 == [["0", "8"], ["4", "12"], ["8", "16"], ["12", "20"], ["15", "23"]]
    assert "chr1" in capsys.readouterr().out


def test_test_command_scores_the_latest_run(trained_run, quick, capsys):
    run_root = f"run_root={trained_run.parents[1]}"
    assert main(["test", *quick("trainer.fast_dev_run=true", run_root)]) == 0
    assert "test/acc" in capsys.readouterr().out


def test_print_resolved_config(capsys):
    assert main(["fit", "task=dna_species", "data.seq_len=2048", "--cfg"]) == 0
    assert "seq_len: 2048" in capsys.readouterr().out


def test_help(capsys):
    assert main(["--help"]) == 0
    assert "predict" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["fit", "data.sequence_length=10"], "valid keys at data: batch_size"),
        (["fit", "task=dna_speceis"], "dna_pretrain, dna_species"),
        (["fit", "model=huge"], "available: audio_small, dna_base"),
        (["fit", "data.seq_len"], "key=value"),
        (["fit", "--frobnicate"], "unknown option --frobnicate"),
        (["fit", "trainer.max_stepz=3"], "valid keys at trainer"),
        (["frobnicate"], "unknown command"),
        (["predict"], "at least one FASTA file"),
        (["predict", str(TINY), "colour=red"], "unknown predict option 'colour'"),
        (["fit", "data.seq_len=abc"], "data.seq_len=abc: expected a whole number"),
        (["fit", "optim.lr=fast"], "optim.lr=fast: expected a number"),
        (["fit", "data.rc_augment=maybe"], "expected true or false"),
        (["fit", "data.split=0.5"], "data.split=0.5: expected a list"),
        (["fit", "seed=null"], "seed=null: expected a whole number"),
        (["fit", "model.d_model=1.5"], "model.d_model=1.5: expected a whole number"),
        (["fit", "head.pooling=max"], "choose one of mean, last"),
        (["fit", "nonfinite_loss=ignore"], "choose one of stop, skip"),
        (["fit", "resume=no/such/run"], "resume=no/such/run: no such run directory"),
        (["test", "ckpt=no/such/run"], "no such run"),
        (["export"], "export needs ckpt="),
        (["export", "ckpt=no/such/run", "out=x"], "no such run"),
        (["export", "colour=red"], "unknown export option 'colour'"),
        (["export", "model.safetensors"], "unexpected argument"),
    ],
    ids=[
        "unknown-data-key",
        "unknown-task",
        "unknown-model",
        "override-without-value",
        "unknown-option",
        "unknown-trainer-key",
        "unknown-command",
        "predict-no-files",
        "predict-unknown-option",
        "not-an-int",
        "not-a-number",
        "not-a-bool",
        "not-a-list",
        "null-for-a-number",
        "model-field-type",
        "not-a-pooling",
        "not-a-nonfinite-mode",
        "resume-missing-run",
        "test-missing-run",
        "export-without-options",
        "export-missing-checkpoint",
        "export-unknown-option",
        "export-positional",
    ],
)
def test_bad_command_lines(one_line_error, argv, expected):
    one_line_error(argv, expected)


@pytest.mark.parametrize(
    "override, expected",
    [
        ("trainer.max_steps=-5", "trainer: `max_steps` must be"),
        ("trainer.devices=0", "trainer: `Trainer(devices=0)`"),
        ("trainer.strategy=warp", "trainer: You selected an invalid strategy"),
        ("data.num_workers=-1", "data.num_workers must be 0 or more"),
        ("data.genomes=notadict", "data.genomes must map species"),
        ("checkpoint.every_n_steps=0", "checkpoint.every_n_steps=0"),
    ],
    ids=[
        "lightning-rejects-max-steps",
        "lightning-rejects-devices",
        "lightning-rejects-strategy",
        "negative-workers",
        "genomes-not-a-mapping",
        "checkpoint-interval-zero",
    ],
)
def test_bad_values_found_when_training_starts(one_line_error, quick, override, expected):
    """Values only Lightning or the data module can judge, on a run small enough to get there."""
    one_line_error(["fit", *quick(override)], expected)


def test_predict_without_a_trained_model(one_line_error, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_error(["predict", str(TINY)], "seqmodels fit task=dna_species")


def test_predict_missing_checkpoint(one_line_error, tmp_path):
    one_line_error(["predict", str(TINY), f"ckpt={tmp_path / 'nope'}"], "no such run")


def bad_fasta_files(folder: Path) -> dict[str, tuple[Path, str]]:
    files = {
        "no-header": (b"ACGT\nACGT\n", "header"),
        "binary": (bytes(range(256)) * 4, "binary"),
        "empty": (b"", "empty"),
        "empty-record": (b">a\n>b\nACGT\n", "'a'"),
        "bad-character": (b">a\nACGT\nAC!T\n", "line 3"),
    }
    out = {}
    for name, (content, expected) in files.items():
        path = folder / f"{name}.fa"
        path.write_bytes(content)
        out[name] = (path, expected)
    truncated = folder / "truncated.fa.gz"
    bases = bytes(random.Random(0).choices(b"ACGT", k=20_000))
    truncated.write_bytes(gzip.compress(b">a\n" + bases + b"\n")[:2000])
    out["truncated-gzip"] = (truncated, "truncated")
    out["missing"] = (folder / "missing.fa", "not found")
    return out


@pytest.mark.parametrize(
    "case",
    ["no-header", "binary", "empty", "empty-record", "bad-character", "truncated-gzip", "missing"],
)
def test_predict_bad_fasta_is_one_line_and_leaves_no_output(
    trained_run, one_line_error, tmp_path, case
):
    path, expected = bad_fasta_files(tmp_path)[case]
    out = tmp_path / "preds"
    message = one_line_error(
        ["predict", str(TINY), str(path), f"ckpt={trained_run}", f"out={out}"], expected
    )
    assert str(path) in message
    # every input is checked before any output is written: no table, partial or complete
    assert not out.exists() or not any(out.iterdir())


def test_console_script_exit_code_and_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "seqmodels.cli", "fit", "data.nope=1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
