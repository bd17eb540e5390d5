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


# --- regression and multi-label models: values in the data's units, the columns of their kind


def target_model(kind: str, variant: str = "causal", rc_average: bool = False):
    """A tiny regressor of two targets (means far from 0, so that standard units would show) or
    multi-label model of two labels."""
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    config.variant = variant
    regressor = kind == "regressor"
    card = ModelCard(
        kind=kind,
        task="dna_classify",
        model=config.to_dict(),
        target_names=["y", "z"],
        target_mean=[10.0, -3.0] if regressor else None,
        target_std=[2.0, 0.5] if regressor else None,
        rc_average=rc_average,
        alphabet="dna",
        pad_id=PAD_ID,
        seq_len=8,
    )
    torch.manual_seed(0)
    model = build_model(card)
    with torch.no_grad():
        model.head.weight.mul_(3)
    return model.eval(), card


@pytest.mark.parametrize(
    "variant, rc_average", [("causal", False), ("bidirectional", True), ("rc_equivariant", False)]
)
def test_a_regressors_whole_records_stream_to_its_values_in_the_data_units(
    store, variant, rc_average
):
    model, card = target_model("regressor", variant, rc_average)
    longest = max(record.length for record in store.records)
    windowed, _ = classify_store(model, card, store, window=longest, stride=longest)
    whole, _ = classify_store(model, card, store, window="record", segment=7)
    for a, b in zip(whole, windowed, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-5)
        assert a.predicted == b.predicted
    values = np.stack([r.values for r in whole])
    with torch.no_grad():  # the model's forward, not the head's standard units
        ids = torch.from_numpy(store.window(0, 0, store.records[0].length).astype(np.int64))
        np.testing.assert_allclose(values[0], model(ids[None])[0].numpy(), rtol=1e-5, atol=1e-5)
        standard = model.standardised(ids[None])[0].numpy()
    np.testing.assert_allclose(values[0], [10, -3] + np.array([2, 0.5]) * standard, rtol=1e-5)


@pytest.mark.parametrize("kind", ["regressor", "multilabel"])
def test_predict_command_writes_the_columns_of_the_models_kind(tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    model, card = target_model(kind)
    save_pretrained(tmp_path / "model", model, card)
    assert main(["predict", str(TINY), f"ckpt={tmp_path / 'model'}", "window=8"]) == 0
    records = [line.rstrip("\n").split("\t") for line in open("predictions/tiny.records.tsv")]
    bed = [line.rstrip("\n").split("\t") for line in open("predictions/tiny.windows.bed")]
    values = ["predicted_y", "predicted_z"] if kind == "regressor" else ["predicted", "p_y", "p_z"]
    assert records[0] == ["record", "length", "windows", *values]
    assert bed[0] == ["#chrom", "start", "end", "predicted", "score", "strand", "y", "z"]
    chr1 = np.array([line[6:] for line in bed[1:] if line[0] == "chr1"], float)
    assert len(chr1) == 3  # 23 bases in windows of 8: 0-8, 8-16, 16-23
    record = np.array(records[1][-2:], float)
    np.testing.assert_allclose(record, chr1.mean(0), rtol=1e-5, atol=1e-5)  # the windows' mean
    for line in bed[1:]:
        p = np.array(line[6:], float)
        if kind == "regressor":
            assert line[4] == "0" and line[3] == ",".join(line[6:])
            assert abs(p[0] - 10) < 8 and abs(p[1] + 3) < 2  # the data's units, not around 0
        else:
            assert int(line[4]) == round(1000 * p.max())
            assert line[3] == (",".join(n for n, q in zip("yz", p, strict=True) if q >= 0.5) or ".")
    if kind == "multilabel":
        assert records[1][3] == (
            ",".join(n for n, q in zip("yz", record, strict=True) if q >= 0.5) or "."
        )


def test_python_api_predicts_a_regressors_records(tmp_path, monkeypatch):
    import seqmodels

    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    model, card = target_model("regressor")
    save_pretrained(tmp_path / "model", model, card)
    loaded = seqmodels.load(tmp_path / "model")
    assert loaded.outputs.names == ("y", "z") and loaded.outputs.columns[0] == "predicted_y"
    whole = loaded.predict_fasta(TINY, window="record", segment=4)
    windowed = loaded.predict_fasta(TINY, window=23)
    for a, b in zip(whole, windowed, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-5)
