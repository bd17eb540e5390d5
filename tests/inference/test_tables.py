"""Rows of labelled-data files through a classifier: whole, padded and masked, or streamed."""

from pathlib import Path

import numpy as np
import pytest
import torch

from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE, encode
from seqmodels.errors import UserError
from seqmodels.inference.tables import _batches, check_labels, classify_sequences, read_rows
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.models.pretrained import build_model


def tiny_card(kind: str, variant: str = "causal", **fields) -> ModelCard:
    """The card of a tiny 2-layer DNA model of `kind` with the backbone `variant`."""
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    config.variant = variant
    return ModelCard(
        kind=kind, task="dna_classify", model=config.to_dict(), alphabet="dna", **fields
    )


def tiny_classifier(variant="causal", pooling="mean", rc_average=False, pad_id=PAD_ID):
    card = tiny_card(
        "classifier",
        variant,
        class_names=["a", "b", "c"],
        pooling=pooling,
        rc_average=rc_average,
        pad_id=pad_id,
    )
    torch.manual_seed(0)
    model = build_model(card).eval()
    with torch.no_grad():  # spread the logits so that rows differ clearly
        model.head.weight.mul_(3)
        for name, param in model.named_parameters():
            if name.endswith("out_proj.weight"):
                param.mul_(5)
    return model, card


def random_rows(lengths, seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [encode("".join(rng.choice(list("ACGT"), n))) for n in lengths]


LENGTHS = [17, 3, 40, 17, 9, 1, 25, 12]


@pytest.mark.parametrize(
    "variant, pooling, rc_average",
    [
        ("causal", "mean", False),
        ("causal", "last", True),
        ("bidirectional", "mean", False),
        ("rc_equivariant", "mean", False),
    ],
)
def test_a_row_gets_the_same_probabilities_alone_batched_or_streamed(variant, pooling, rc_average):
    model, card = tiny_classifier(variant, pooling, rc_average)
    rows = random_rows(LENGTHS)
    with torch.no_grad():
        alone = np.stack(
            [
                model(torch.from_numpy(row.astype(np.int64))[None]).softmax(-1)[0].numpy()
                for row in rows
            ]
        )
    batched = classify_sequences(model, card, rows, batch_size=64)
    one_by_one = classify_sequences(model, card, rows, batch_size=1)
    # segments of 7: rows longer than that are streamed, the others batched in at most 7 tokens
    streamed = classify_sequences(model, card, rows, batch_size=64, segment=7)
    for probs in (batched, one_by_one, streamed):
        assert probs.shape == (len(rows), 3)
        np.testing.assert_allclose(probs, alone, rtol=1e-5, atol=1e-6)
    assert not np.allclose(alone[0], alone[2], atol=1e-3)  # rows differ: the order is tested


def test_without_a_padding_token_a_batch_holds_one_length():
    model, card = tiny_classifier(pad_id=None)
    rows = random_rows(LENGTHS)
    alone = classify_sequences(model, card, rows, batch_size=1)
    np.testing.assert_allclose(classify_sequences(model, card, rows), alone, atol=1e-6)
    batches = _batches(LENGTHS, batch_size=64, segment=1000, pad=False)
    assert [[LENGTHS[i] for i in batch] for batch in batches] == [
        [40],
        [25],
        [17, 17],
        [12],
        [9],
        [3],
        [1],
    ]


def test_batches_are_longest_first_and_hold_at_most_a_segment_of_tokens():
    batches = _batches(LENGTHS, batch_size=3, segment=40, pad=True)
    assert sorted(i for batch in batches for i in batch) == list(range(len(LENGTHS)))
    for batch in batches:
        lengths = [LENGTHS[i] for i in batch]
        assert lengths == sorted(lengths, reverse=True) and len(batch) <= 3
        assert len(batch) == 1 or len(batch) * lengths[0] <= 40
    assert [len(b) for b in batches] == [1, 1, 2, 3, 1]  # 40 | 25 | 17 17 | 12 9 3 | 1


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_labelled_decides_whether_labels_are_read(tmp_path):
    table = write(tmp_path / "t.tsv", "sequence\tlabel\nACGT\ta\nGG\t\n")
    assert [row.label for row in read_rows(table)] == ["a", None]
    assert [row.label for row in read_rows(table, labelled=False)] == [None, None]
    assert read_rows(table, labelled=False)[0].fields == (("sequence", "ACGT"), ("label", "a"))
    with pytest.raises(UserError, match="line 3: empty label"):
        read_rows(table, labelled=True)
    fasta = write(tmp_path / "nt.fa", ">s0|b\nACGT\n")
    assert [row.label for row in read_rows(fasta)] == ["b"]


def test_a_label_the_model_does_not_know_names_its_row(tmp_path):
    table = write(tmp_path / "t.tsv", "sequence\tlabel\nACGT\ta\nGG\tz\n")
    check_labels(read_rows(table, labelled=False), ["a", "b"])  # no labels, nothing to check
    with pytest.raises(UserError) as error:
        check_labels(read_rows(table), ["a", "b"])
    message = str(error.value)
    assert f"{table}, line 3: label 'z' is not one of the model's classes (a, b)" in message
    assert "labelled=false" in message and "\n" not in message


@pytest.mark.parametrize("variant", ["causal", "bidirectional"])
def test_a_regressors_rows_get_their_values_alone_batched_or_streamed(variant):
    """Streamed rows go through the head and then the model's de-standardising, as forward."""
    card = tiny_card(
        "regressor",
        variant,
        target_names=["y"],
        target_mean=[50.0],
        target_std=[10.0],
        pad_id=PAD_ID,
    )
    torch.manual_seed(0)
    model = build_model(card).eval()
    rows = random_rows(LENGTHS)
    with torch.no_grad():
        alone = np.stack(
            [model(torch.from_numpy(row.astype(np.int64))[None])[0].numpy() for row in rows]
        )
    assert abs(alone.mean() - 50) < 20  # the data's units (mean 50), not standard ones
    for options in ({"batch_size": 64}, {"batch_size": 1}, {"segment": 7}):
        values = classify_sequences(model, card, rows, **options)
        assert values.shape == (len(rows), 1)
        np.testing.assert_allclose(values, alone, rtol=1e-5, atol=1e-4)


def test_a_regressors_labels_are_its_target_columns_as_numbers(tmp_path):
    config = ModelConfig(d_model=16, n_layer=1, d_state=4, vocab_size=VOCAB_SIZE)
    card = ModelCard(
        kind="regressor",
        model=config.to_dict(),
        target_names=["y"],
        target_mean=[0.0],
        target_std=[1.0],
        alphabet="dna",
    )
    table = tmp_path / "rows.tsv"
    table.write_text("sequence\tlabel\ty\nACGT\tx\t0.5\nACGT\tz\t\n")
    rows = read_rows(table, card=card)
    assert [row.label for row in rows] == ["0.5", None]  # y, not label; an empty cell: unscored
    check_labels(rows, card)
    table.write_text("sequence\ty\nACGT\tmany\n")
    with pytest.raises(UserError, match="line 2.*'many'.*not a number"):
        check_labels(read_rows(table, card=card), card)
