"""`seqmodels score-variants`: the table it writes, and bad rows refused in one line, no table."""

from pathlib import Path

import numpy as np
import pytest
import torch

from seqmodels.cli import main
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.species import bundled_genomes
from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE
from seqmodels.data.dna.vcf import read_vcf
from seqmodels.inference.variants import check_variants, score_variants
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.models.pretrained import build_model, load_pretrained, save_pretrained

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "ecoli_example.vcf"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
SEQ = "ACGTTGCAAGGCTTACCGATCGATTACAGGCATTCAGGACTTAGC"  # chr1, 45 bases


def save(folder: Path, kind: str) -> Path:
    config = ModelConfig(
        d_model=16, n_layer=1, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    info = {"kind": kind, "model": config.to_dict(), "alphabet": "dna", "pad_id": PAD_ID}
    info |= {"class_names": ["x", "y"], "seq_len": 16}
    torch.manual_seed(0)
    return save_pretrained(
        folder, build_model(ModelCard.from_dict(info)), ModelCard.from_dict(info)
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {kind: save(root / kind, kind) for kind in ("classifier", "lm")}


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "ref.fa").write_text(f">chr1\n{SEQ}\n")
    return tmp_path


def vcf(path: Path, *rows: str) -> str:
    path.write_text(HEADER + "".join(row.replace(" ", "\t") + "\n" for row in rows))
    return str(path)


def run(*args: str) -> int:
    return main(["score-variants", *args])


@pytest.mark.parametrize("kind", ["classifier", "lm"])
def test_the_table(models, workdir, kind):
    rows = ["chr1 10 rs1 G A,T . . .", "chr1 20 . T TAT . PASS .", "chr1 30 . g <DEL> . . ."]
    path = vcf(workdir / "calls.vcf.gz", *rows)  # a .vcf.gz name on plain text: read by content
    assert run(path, "genome=ref.fa", f"ckpt={models[kind]}", "window=12", "out=scores") == 0
    lines = (workdir / "scores" / "calls.scores.tsv").read_text().splitlines()
    columns = ["delta_x", "delta_y"] if kind == "classifier" else ["llr"]
    header = ["chrom", "pos", "id", "ref", "alt", "window_start", "window_end", *columns]
    assert lines[0].split("\t") == header
    table = [line.split("\t") for line in lines[1:]]
    assert [row[:7] for row in table] == [
        ["chr1", "10", "rs1", "G", "A", "3", "15"],
        ["chr1", "10", "rs1", "G", "T", "3", "15"],
        ["chr1", "20", ".", "T", "TAT", "13", "25"],
    ]
    model, info = load_pretrained(models[kind])
    variants, _ = read_vcf(path)
    store = GenomeStore.open(workdir / "ref.fa")
    expected = [s.scores for s in score_variants(model, kind, store, variants, 12, PAD_ID)]
    found = np.array([[float(x) for x in row[7:]] for row in table])
    np.testing.assert_allclose(found, np.array(expected), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "row, message",
    [
        ("chr1 10 . A C . . .", "bad.vcf, line 3: REF 'A' does not match the genome at chr1:10"),
        ("1 10 . G C . . .", "line 3: chromosome '1' is not in ref.fa (its records: chr1)"),
        ("chr1 10 . G C . .", "line 3: 7 column(s), the header has 8"),
        ("chr1 x . G C . . .", "line 3: POS 'x'"),
    ],
)
def test_bad_rows_end_in_one_line_and_no_table(models, workdir, capsys, row, message):
    good = vcf(workdir / "good.vcf", "chr1 10 . G C . . .")
    bad = vcf(workdir / "bad.vcf", row)
    args = [good, bad, "genome=ref.fa", f"ckpt={models['lm']}", "out=scores"]
    assert run(*args) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (workdir / "scores").exists()  # not even the good file's table


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "score-variants needs a VCF file"),
        (["v.vcf"], "score-variants needs genome=FASTA"),
        (["v.vcf", "genome=ref.fa", "window=record"], "variants are scored in windows"),
        (["v.vcf", "genome=ref.fa", "window=-3"], "window='-3': expected a whole number"),
        (["v.vcf", "genome=ref.fa", "colour=red"], "unknown score-variants option 'colour'"),
        (["v.vcf", "genome=missing.fa"], "FASTA file not found"),
        (["missing.vcf", "genome=ref.fa"], "VCF file not found"),
        (["v.vcf", "sub/v.vcf", "genome=ref.fa"], "v.vcf and v.vcf would both write v.*"),
    ],
)
def test_bad_options_are_one_line(models, workdir, capsys, args, message):
    vcf(workdir / "v.vcf", "chr1 10 . G C . . .")
    assert run(*args, f"ckpt={models['classifier']}") == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_the_example_vcf_matches_the_bundled_genome(workdir):
    """docs/lab_commands.md scores tests/fixtures/ecoli_example.vcf on the bundled E. coli."""
    store = GenomeStore.open(bundled_genomes()["escherichia_coli"])
    variants, skipped = read_vcf(EXAMPLE)
    check_variants(variants, store, 1024, EXAMPLE)
    assert len(variants) == 6 and len(skipped) == 2
