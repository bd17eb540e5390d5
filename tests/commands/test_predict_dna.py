"""Whole-record prediction (window=record): the same as one window over the whole record."""

from pathlib import Path

import numpy as np
import pytest
import torch

from seqmodels.cli import main
from seqmodels.commands.predict_dna import classify_store
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.models.pretrained import build_model, save_pretrained

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"  # records of 23, 16 and 10 bases
CLASSES = ["a", "b", "c"]


def model_info(
    variant: str = "causal",
    pooling: str = "mean",
    rc_average: bool = False,
    class_names: list[str] = CLASSES,
):
    config = ModelConfig(
        d_model=16,
        n_layer=2,
        d_state=4,
        vocab_size=VOCAB_SIZE,
        complement=COMPLEMENT,
        variant=variant,
    )
    info = ModelCard(
        kind="classifier",
        task="dna_species",
        model=config.to_dict(),
        class_names=class_names,
        pooling=pooling,
        rc_average=rc_average,
        alphabet="dna",
        pad_id=PAD_ID,
        seq_len=8,
    )
    torch.manual_seed(0)
    model = build_model(info)
    with torch.no_grad():  # spread the logits so that the classes differ
        model.head.weight.mul_(3)
        for name, param in model.named_parameters():
            if name.endswith("out_proj.weight"):
                param.mul_(5)
    return model.eval(), info


@pytest.fixture
def store(tmp_path) -> GenomeStore:
    return GenomeStore.open(TINY, tmp_path / "cache")


@pytest.mark.parametrize(
    "variant, pooling, rc_average",
    [
        ("causal", "mean", False),
        ("causal", "last", True),
        ("bidirectional", "mean", False),
        ("rc_equivariant", "mean", False),
    ],
)
def test_record_mode_equals_one_window_over_the_record(store, variant, pooling, rc_average):
    model, info = model_info(variant, pooling, rc_average)
    longest = max(record.length for record in store.records)
    windowed, _ = classify_store(model, info, store, window=longest, stride=longest)
    # segments of 7 cut every record (23, 16 and 10 bases) into unequal pieces
    whole, windows = classify_store(model, info, store, window="record", segment=7)
    assert [r.record_id for r in whole] == ["chr1", "chr2", "plasmid_3"]
    for a, b in zip(whole, windowed, strict=True):
        assert a.windows == b.windows == 1
        np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-5, atol=1e-6)
        assert a.predicted == b.predicted
    assert [(w.start, w.end) for w in windows] == [(0, 23), (0, 16), (0, 10)]
    # and not what a shorter window gives: the test can tell the record from its pieces
    pieces, _ = classify_store(model, info, store, window=7, stride=7)
    assert not np.allclose(pieces[0].probabilities, whole[0].probabilities, atol=1e-4)


def test_windows_longer_than_the_segment_are_streamed(store):
    model, info = model_info("bidirectional")
    batched, _ = classify_store(model, info, store, window=12, stride=5, batch_size=64)
    streamed, windows = classify_store(model, info, store, window=12, stride=5, segment=5)
    assert [(w.start, w.end) for w in windows[:3]] == [(0, 12), (5, 17), (10, 22)]
    for a, b in zip(streamed, batched, strict=True):
        assert a.windows == b.windows
        np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-5, atol=1e-6)


def test_predict_command_window_record(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    model, info = model_info()
    save_pretrained(tmp_path / "model", model, info)
    args = ["predict", str(TINY), f"ckpt={tmp_path / 'model'}"]
    assert main([*args, "out=whole", "window=record", "segment=5"]) == 0
    assert main([*args, "out=one", "window=23"]) == 0
    out = capsys.readouterr().out
    assert "whole records" in out and "segments of 5" in out

    def table(folder):
        rows = [line.split("\t") for line in (tmp_path / folder / "tiny.records.tsv").open()]
        return rows[0], [(r[0], r[1], r[2], r[3]) for r in rows[1:]], [r[4:] for r in rows[1:]]

    (head_a, rows_a, probs_a), (head_b, rows_b, probs_b) = table("whole"), table("one")
    assert head_a == head_b and rows_a == rows_b
    np.testing.assert_allclose(np.array(probs_a, float), np.array(probs_b, float), atol=2e-6)
    bed = (tmp_path / "whole" / "tiny.windows.bed").read_text().splitlines()[1:]
    assert [line.split("\t")[:3] for line in bed] == [
        ["chr1", "0", "23"],
        ["chr2", "0", "16"],
        ["plasmid_3", "0", "10"],
    ]


@pytest.mark.parametrize(
    "options, expected",
    [
        (["window=record", "stride=4"], "stride= has no meaning with window=record"),
        (["window=record", "segment=0"], "segment='0'"),
        (["window=8", "segment=4"], "segment= goes with window=record"),
        (["window=recrod"], "window='recrod': expected a whole number >= 1, or record"),
    ],
    ids=["record-stride", "zero-segment", "segment-without-record", "typo"],
)
def test_predict_command_bad_record_options(
    tmp_path, monkeypatch, one_line_error, options, expected
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    model, info = model_info()
    save_pretrained(tmp_path / "model", model, info)
    one_line_error(["predict", str(TINY), f"ckpt={tmp_path / 'model'}", *options], expected)


def test_the_summary_printed_to_a_pipe_has_every_value_whole(tmp_path, monkeypatch, capsys):
    """Captured output is not a terminal: rich would cut the table to 80 columns."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    names = ["escherichia_coli_k12_substr_mg1655", "klebsiella_pneumoniae_subsp_pneumoniae"]
    model, info = model_info(class_names=names)
    save_pretrained(tmp_path / "model", model, info)
    fasta = tmp_path / "GCF_000005845.2_ASM584v2_genomic.fna"
    bases = "".join(np.random.default_rng(0).choice(list("ACGT"), 12_345))
    fasta.write_text(f">NC_000913.3_chromosome_of_a_long_name\n{bases}\n")
    argv = ["predict", str(fasta), f"ckpt={tmp_path / 'model'}", "window=4096"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    predicted = (tmp_path / "predictions" / (fasta.stem + ".records.tsv")).read_text()
    assert predicted.splitlines()[1].split("\t")[3] in names
    assert "…" not in out
    for value in (fasta.name, "NC_000913.3_chromosome_of_a_long_name", "12,345"):
        assert value in out, value
    assert any(name in out for name in names)
    header = next(line for line in out.splitlines() if "record" in line and "length" in line)
    assert header.split()[1] == "file"  # the first column has its name and its values


def test_python_api_predicts_whole_records(tmp_path, monkeypatch):
    import seqmodels

    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    model, info = model_info()
    save_pretrained(tmp_path / "model", model, info)
    loaded = seqmodels.load(tmp_path / "model")
    whole = loaded.predict_fasta(TINY, window="record", segment=4)
    windowed = loaded.predict_fasta(TINY, window=23)
    assert [r.windows for r in whole] == [1, 1, 1]
    for a, b in zip(whole, windowed, strict=True):
        np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-5, atol=1e-6)
