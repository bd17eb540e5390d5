"""Streaming inference: segment by segment, with pooling, equals one full pass in every variant."""

import pytest
import torch

from seqmodels.models import ModelConfig, SequenceClassifier, pool
from seqmodels.models.streaming import (
    reverse_complement_reader,
    stream_classify,
    stream_pool,
    tensor_reader,
)

COMPLEMENT = [0, 4, 3, 2, 1, 5]  # PAD, A, C, G, T, N → PAD, T, G, C, A, N
LENGTH = 150  # not a multiple of any segment size below
SEGMENTS = [1, 7, 64, LENGTH, 1000]


def classifier(variant: str, pooling: str, dtype: torch.dtype, **overrides) -> SequenceClassifier:
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, variant=variant, complement=COMPLEMENT, **overrides
    )
    model = SequenceClassifier(config, 3, pooling)
    # trained-looking weights: the Δ bias and out_proj start tiny, which would hide state errors
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("out_proj.weight") or name.endswith("dt_proj.bias"):
                param.add_(0.3 * torch.randn_like(param))
    return model.to(dtype).eval()


def tokens(batch: int = 2, length: int = LENGTH) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randint(1, 6, (batch, length))


CASES = [
    ("causal", "mean"),
    ("causal", "last"),
    ("bidirectional", "mean"),
    ("bidirectional", "last"),
    ("rc_equivariant", "mean"),
]


@pytest.mark.parametrize("segment", SEGMENTS, ids=[f"seg{s}" for s in SEGMENTS])
@pytest.mark.parametrize("variant, pooling", CASES, ids=[f"{v}-{p}" for v, p in CASES])
def test_streaming_pool_equals_the_full_pass_float64(variant, pooling, segment):
    # residual in the model's dtype, so that float64 holds end to end and the match is exact
    model = classifier(variant, pooling, torch.float64, residual_in_fp32=False)
    ids = tokens()
    full = pool(model.backbone.encode(ids), None, pooling)
    streamed = stream_pool(model.backbone, tensor_reader(ids), LENGTH, pooling, segment)
    torch.testing.assert_close(streamed, full, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("segment", [7, 64])
@pytest.mark.parametrize("variant, pooling", CASES, ids=[f"{v}-{p}" for v, p in CASES])
def test_streaming_classify_equals_the_full_pass_float32(variant, pooling, segment):
    model = classifier(variant, pooling, torch.float32)  # fp32 residual stream, the default
    ids = tokens()
    full = model(ids)
    streamed = stream_classify(model, tensor_reader(ids), LENGTH, segment)
    torch.testing.assert_close(streamed, full, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("variant", ["causal", "bidirectional"])
def test_streaming_with_rc_average_equals_the_full_pass(variant):
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, variant=variant, complement=COMPLEMENT,
        residual_in_fp32=False,
    )  # fmt: skip
    model = SequenceClassifier(config, 3, "mean", rc_average=True).double().eval()
    ids = tokens()
    streamed = stream_classify(model, tensor_reader(ids), LENGTH, segment=7)
    torch.testing.assert_close(streamed, model(ids), rtol=1e-10, atol=1e-12)


def test_reader_is_asked_for_one_segment_at_a_time():
    model = classifier("causal", "mean", torch.float64)
    ids = tokens(batch=1)
    asked = []

    def read(start, end):
        asked.append((start, end))
        return ids[:, start:end]

    fractions = []
    stream_pool(model.backbone, read, LENGTH, "mean", segment=64, progress=fractions.append)
    assert asked == [(0, 64), (64, 128), (128, 150)]
    assert fractions == [64 / 150, 128 / 150, 1.0]


def test_bidirectional_progress_ends_at_one():
    model = classifier("bidirectional", "mean", torch.float64)
    fractions = []
    stream_pool(model.backbone, tensor_reader(tokens()), LENGTH, "mean", 64, fractions.append)
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_reverse_complement_reader_reads_the_other_strand():
    ids = torch.tensor([[1, 2, 3, 4, 5, 1, 1]])  # A C G T N A A
    rc = reverse_complement_reader(tensor_reader(ids), 7, torch.tensor(COMPLEMENT))
    assert torch.cat([rc(0, 3), rc(3, 7)], 1).tolist() == [[4, 4, 5, 1, 2, 3, 4]]


def test_bad_arguments():
    model = classifier("rc_equivariant", "mean", torch.float64)
    read = tensor_reader(tokens())
    with pytest.raises(ValueError, match="mean pooling only"):
        stream_pool(model.backbone, read, LENGTH, "last")
    with pytest.raises(ValueError, match="segment"):
        stream_pool(model.backbone, read, LENGTH, "mean", segment=0)
    with pytest.raises(ValueError, match="empty"):
        stream_pool(model.backbone, read, 0, "mean")
