"""The backbone and heads: config, streaming with state, decoding, padding-invariant pooling."""

import pytest
import torch

from seqmodels.models import PRESETS, LanguageModel, ModelConfig, SequenceClassifier, pool


def test_config_derives_fields_and_round_trips():
    config = ModelConfig(d_model=100, expand=2, vocab_size=6)
    assert config.d_inner == 200 and config.dt_rank == 7 and config.padded_vocab_size == 8
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.preset("dna-tiny").d_model == PRESETS["dna-tiny"]["d_model"]


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(d_model=0), "d_model"),
        (dict(variant="sideways"), "variant"),
    ],
    ids=["zero-width", "unknown-variant"],
)
def test_config_rejects_bad_values(bad, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**bad)


def test_config_rejects_unknown_keys_and_presets():
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({"d_modle": 3})
    with pytest.raises(ValueError, match="unknown model preset"):
        ModelConfig.preset("huge")


@pytest.fixture
def lm() -> LanguageModel:
    torch.manual_seed(0)
    return LanguageModel(ModelConfig(d_model=16, n_layer=2, d_state=4, vocab_size=6)).double()


def test_backbone_in_segments_equals_one_pass(lm):
    ids = torch.randint(0, 6, (2, 30))
    full, _ = lm(ids)
    state = lm.backbone.allocate_inference_cache(2, dtype=torch.float64)
    pieces = []
    for start in range(0, 30, 7):
        logits, state = lm(ids[:, start : start + 7], state)
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, 1), full, rtol=1e-10, atol=1e-12)


def test_language_model_step_equals_forward(lm):
    ids = torch.randint(0, 6, (3, 12))
    full, _ = lm(ids)
    state = lm.backbone.allocate_inference_cache(3, dtype=torch.float64)
    steps = torch.stack([lm.step(ids[:, t], state) for t in range(12)], dim=1)
    torch.testing.assert_close(steps, full, rtol=1e-10, atol=1e-12)
    assert full.shape == (3, 12, 6)


def test_lm_head_is_tied_to_the_embedding(lm):
    assert lm.lm_head.weight is lm.backbone.embedding.weight


def test_pooling_ignores_padding():
    hidden = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    torch.testing.assert_close(pool(hidden, mask, "mean")[0], hidden[0, :3].mean(0))
    torch.testing.assert_close(pool(hidden, mask, "last")[0], hidden[0, 2])
    torch.testing.assert_close(pool(hidden, mask, "last")[1], hidden[1, 4])
    with pytest.raises(ValueError, match="pooling"):
        pool(hidden, mask, "max")


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_causal_classifier_prediction_unchanged_by_right_padding(pooling):
    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig(d_model=16, n_layer=2, d_state=4), 3, pooling).double()
    ids = torch.randint(1, 6, (1, 9))
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1)
    alone = model(ids, ids != 0)
    batch = torch.cat([padded, torch.randint(1, 6, (1, 13))])  # the other row has no padding
    torch.testing.assert_close(model(batch, batch != 0)[:1], alone, rtol=1e-10, atol=1e-12)
