"""Embeddings: the pooled backbone output, window by window or record by record (streamed)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE
from seqmodels.errors import UserError
from seqmodels.inference.embed import embed_store
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.models.heads import pool
from seqmodels.models.pretrained import build_model

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"  # records of 23, 16 and 10 bases


def tiny_model(kind: str = "classifier", variant: str = "causal"):
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    config.variant = variant
    info = {"kind": kind, "model": config.to_dict(), "alphabet": "dna", "pad_id": PAD_ID}
    info |= {"class_names": ["a", "b"], "seq_len": 8}
    torch.manual_seed(0)
    model = build_model(ModelCard.from_dict(info)).eval()
    with torch.no_grad():  # larger mixer outputs, so that positions differ clearly
        for name, param in model.named_parameters():
            if name.endswith("out_proj.weight"):
                param.mul_(5)
    return model, info


@pytest.fixture
def store(tmp_path) -> GenomeStore:
    return GenomeStore.open(TINY, tmp_path / "cache")


def direct(model, store, record: int, start: int, end: int, pooling: str) -> np.ndarray:
    ids = torch.from_numpy(store.window(record, start, end).astype(np.int64))[None]
    with torch.no_grad():
        return pool(model.backbone.encode(ids, None), None, pooling)[0].numpy()


@pytest.mark.parametrize(
    "kind, variant, pooling",
    [
        ("classifier", "causal", "mean"),
        ("classifier", "bidirectional", "mean"),
        ("classifier", "rc_equivariant", "mean"),
        ("lm", "causal", "mean"),
        ("lm", "causal", "last"),
    ],
)
def test_window_embeddings_are_the_pooled_backbone_output(store, kind, variant, pooling):
    model, _ = tiny_model(kind, variant)
    array, rows = embed_store(model, store, window=8, stride=5, pooling=pooling)
    assert array.dtype == np.float32 and array.shape == (len(rows), 16)
    assert [(r.record, r.start, r.end) for r in rows[:5]] == [
        ("chr1", 0, 8),
        ("chr1", 5, 13),
        ("chr1", 10, 18),
        ("chr1", 15, 23),
        ("chr2", 0, 8),
    ]
    assert {r.file for r in rows} == {"tiny.fa"}
    index = {r.id: i for i, r in enumerate(store.records)}
    for row, vector in list(zip(rows, array, strict=True))[::3]:
        expected = direct(model, store, index[row.record], row.start, row.end, pooling)
        np.testing.assert_allclose(vector, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(array[0], array[1], atol=1e-3)  # the windows differ


@pytest.mark.parametrize("variant", ["causal", "bidirectional", "rc_equivariant"])
def test_record_mode_streams_to_the_one_pass_result(store, variant):
    model, _ = tiny_model("classifier", variant)
    # segments of 7 cut every record (23, 16 and 10 bases) into unequal pieces
    array, rows = embed_store(model, store, window="record", segment=7)
    assert [(r.record, r.start, r.end) for r in rows] == [
        ("chr1", 0, 23),
        ("chr2", 0, 16),
        ("plasmid_3", 0, 10),
    ]
    for i, record in enumerate(store.records):
        expected = direct(model, store, i, 0, record.length, "mean")
        np.testing.assert_allclose(array[i], expected, rtol=1e-5, atol=1e-6)


def test_a_window_longer_than_a_segment_is_streamed(store):
    model, _ = tiny_model("lm")
    whole, _ = embed_store(model, store, window=16, stride=16)
    streamed, _ = embed_store(model, store, window=16, stride=16, segment=5)
    np.testing.assert_allclose(streamed, whole, rtol=1e-5, atol=1e-6)


def test_bad_pooling_is_one_line(store):
    model, _ = tiny_model("classifier", "rc_equivariant")
    with pytest.raises(UserError, match="pooling=mean"):
        embed_store(model, store, window=8, pooling="last")
    with pytest.raises(UserError, match="choose one of mean, last"):
        embed_store(model, store, window=8, pooling="max")
