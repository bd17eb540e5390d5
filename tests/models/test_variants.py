"""The backbone variants: padding invariance, reverse-complement equivariance, weight sharing."""

import pytest
import torch

from seqmodels.models import (
    BidirectionalBackbone,
    ModelConfig,
    SequenceClassifier,
    build_backbone,
    convert_backbone_state,
    reverse_complement_ids,
    reverse_padded,
)

COMPLEMENT = [0, 4, 3, 2, 1, 5]  # PAD, A, C, G, T, N → PAD, T, G, C, A, N
VARIANTS = ["causal", "bidirectional", "rc_equivariant"]


def config(variant: str, **overrides) -> ModelConfig:
    return ModelConfig(
        d_model=16, n_layer=2, d_state=4, variant=variant, complement=COMPLEMENT, **overrides
    )


def classifier(variant: str, pooling: str = "mean", rc_average: bool = False, dtype=torch.float64):
    torch.manual_seed(0)
    model = SequenceClassifier(config(variant), 3, pooling, rc_average=rc_average)
    return model.to(dtype).eval()


def padded_batch() -> torch.Tensor:
    """Three sequences of lengths 9, 13 and 5, right-padded with 0."""
    torch.manual_seed(1)
    ids = torch.randint(1, 6, (3, 13))
    ids[0, 9:] = 0
    ids[2, 5:] = 0
    return ids


def test_reverse_padded_reverses_the_real_tokens_only():
    ids = torch.tensor([[1, 2, 3, 0, 0], [1, 2, 3, 4, 5]])
    assert reverse_padded(ids, ids != 0).tolist() == [[3, 2, 1, 0, 0], [5, 4, 3, 2, 1]]
    hidden = torch.randn(2, 5, 3)
    mask = ids != 0
    torch.testing.assert_close(reverse_padded(reverse_padded(hidden, mask), mask), hidden)
    complement = torch.tensor(COMPLEMENT)
    assert reverse_complement_ids(ids, mask, complement).tolist() == [
        [2, 3, 4, 0, 0],
        [5, 1, 2, 3, 4],
    ]


@pytest.mark.parametrize(
    "variant, pooling",
    [(variant, "mean") for variant in VARIANTS] + [("causal", "last"), ("bidirectional", "last")],
)
def test_prediction_is_the_same_alone_and_padded_in_a_batch(variant, pooling):
    model = classifier(variant, pooling)
    batch = padded_batch()
    together = model(batch, batch != 0)
    for row, length in enumerate((9, 13, 5)):
        alone = batch[row : row + 1, :length]
        torch.testing.assert_close(together[row : row + 1], model(alone), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_rc_equivariant_model_gives_a_sequence_and_its_reverse_complement_one_prediction(
    dtype, tolerance
):
    model = classifier("rc_equivariant", dtype=dtype)
    batch = padded_batch()
    mask = batch != 0
    rc = reverse_complement_ids(batch, mask, torch.tensor(COMPLEMENT))
    torch.testing.assert_close(model(rc, mask), model(batch, mask), rtol=tolerance, atol=tolerance)
    # per position, the features are those of the same base read from the other strand
    features = reverse_padded(model.backbone.encode(batch, mask), mask)
    torch.testing.assert_close(
        model.backbone.encode(rc, mask)[mask], features[mask], rtol=tolerance, atol=tolerance
    )


@pytest.mark.parametrize("variant", ["causal", "bidirectional"])
def test_other_variants_are_not_rc_invariant_without_rc_averaging(variant):
    batch = padded_batch()
    mask = batch != 0
    rc = reverse_complement_ids(batch, mask, torch.tensor(COMPLEMENT))
    plain = classifier(variant)
    assert not torch.allclose(plain(rc, mask), plain(batch, mask), atol=1e-6)
    averaged = classifier(variant, rc_average=True)
    torch.testing.assert_close(averaged(rc, mask), averaged(batch, mask), rtol=1e-12, atol=1e-12)
    averaged.train()  # test time only: training reads the strand it is given
    torch.testing.assert_close(averaged(batch, mask), plain.train()(batch, mask))


def test_bidirectional_positions_see_the_whole_sequence_and_share_projections():
    torch.manual_seed(0)
    backbone = BidirectionalBackbone(config("bidirectional")).double()
    ids = torch.randint(1, 6, (1, 12))
    changed = ids.clone()
    changed[0, -1] = ids[0, -1] % 5 + 1
    first = backbone(ids)[0, 0] - backbone(changed)[0, 0]
    assert first.abs().max() > 1e-6  # the first position sees the last token
    mixer = backbone.layers[0].mixer
    assert mixer.rev.in_proj is mixer.fwd.in_proj and mixer.rev.out_proj is mixer.fwd.out_proj
    assert mixer.rev.conv1d.weight is not mixer.fwd.conv1d.weight


def test_rc_equivariant_model_has_exactly_the_causal_weights():
    causal, rc = build_backbone(config("causal")), build_backbone(config("rc_equivariant"))
    assert {k: v.shape for k, v in causal.state_dict().items()} == {
        k: v.shape for k, v in rc.state_dict().items()
    }


def test_causal_weights_start_a_bidirectional_backbone_in_both_directions():
    torch.manual_seed(0)
    causal = build_backbone(config("causal"))
    bidirectional = build_backbone(config("bidirectional"))
    state = convert_backbone_state(causal.state_dict(), "causal", "bidirectional")
    bidirectional.load_state_dict(state)
    source = causal.layers[1].mixer
    for direction in (bidirectional.layers[1].mixer.fwd, bidirectional.layers[1].mixer.rev):
        torch.testing.assert_close(direction.x_proj.weight, source.x_proj.weight)
        torch.testing.assert_close(direction.in_proj.weight, source.in_proj.weight)
    with pytest.raises(ValueError, match="bidirectional backbone cannot initialise a causal"):
        convert_backbone_state(bidirectional.state_dict(), "bidirectional", "causal")


def test_config_checks_the_complement_and_rc_pooling():
    with pytest.raises(ValueError, match="complement"):
        ModelConfig(complement=[0, 1, 2, 3, 4, 4])
    with pytest.raises(ValueError, match="needs an alphabet with a complement"):
        ModelConfig(variant="rc_equivariant")
    with pytest.raises(ValueError, match="mean pooling only"):
        SequenceClassifier(config("rc_equivariant"), 2, "last")
