"""8-bit mu-law: round trip, silence, clipping, and the amplitude interval of every token."""

import torch

from seqmodels.data.audio.mulaw import (
    CLASSES,
    SILENCE,
    mu_law_decode,
    mu_law_encode,
    token_edges,
    token_features,
)


def test_every_token_survives_a_round_trip():
    tokens = torch.arange(CLASSES)
    assert torch.equal(mu_law_encode(mu_law_decode(tokens)), tokens)


def test_a_waveform_decodes_to_within_its_token_interval():
    audio = torch.linspace(-1, 1, 10001, dtype=torch.float64)
    tokens = mu_law_encode(audio)
    edges = token_edges()
    lo, hi = edges[tokens] - 1e-7, edges[tokens + 1] + 1e-7  # encoding rounds in float32
    decoded = mu_law_decode(tokens).double()
    assert torch.all((lo <= audio) & (audio <= hi))
    assert torch.all((lo <= decoded) & (decoded <= hi))
    # the steps are fine near zero and coarse near full scale
    error = (decoded - audio).abs()
    assert error.max() < 0.025 and error[audio.abs() < 0.01].max() < 3e-4


def test_silence_and_clipping():
    assert mu_law_encode(torch.zeros(3)).tolist() == [SILENCE] * 3
    assert mu_law_encode(torch.tensor([-7.0, 7.0])).tolist() == [0, CLASSES - 1]
    assert mu_law_encode(torch.zeros(2, dtype=torch.float64)).dtype == torch.int64


def test_token_edges_bound_what_each_token_encodes():
    edges = token_edges()
    assert edges.shape == (CLASSES + 1,) and torch.all(edges[1:] > edges[:-1])
    inner = edges[1:-1]
    width = torch.minimum(inner - edges[:-2], edges[2:] - inner).clamp(max=1)
    above, below = inner + 1e-3 * width, inner - 1e-3 * width
    # just above an edge is the token it opens; just below, the one before
    assert torch.equal(mu_law_encode(above.clamp(-1, 1)), torch.arange(1, CLASSES))
    assert torch.equal(mu_law_encode(below.clamp(-1, 1)), torch.arange(0, CLASSES - 1))


def test_token_features_are_ordered_like_the_amplitudes():
    features = token_features(16)
    assert features.shape == (CLASSES, 16)
    assert torch.allclose(features.norm(dim=1), torch.full((CLASSES,), 8.0**0.5))
    # every token is nearer its neighbour than a token 32 steps away
    near = (features[1:] - features[:-1]).norm(dim=1)[:-32]
    far = (features[32:] - features[:-32]).norm(dim=1)[:-1]
    assert torch.all(near < far / 4)
    assert token_features(5).shape == (CLASSES, 5)
