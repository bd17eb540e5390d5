"""Attention blocks: pieces with the carried KV cache, and step-by-step decoding, equal one pass.

Float64 end to end (residual in the model's dtype), so that the match is to 1e-10: transformer
and hybrid, windowed and full attention, pieces shorter and longer than the window.
"""

import pytest
import torch

from seqmodels.models import LanguageModel, ModelConfig
from seqmodels.models.attention import Attention, rotary

LENGTH = 40
WINDOW = 6
# (variant, window): windowed and full attention, in both backbones
CASES = [
    ("transformer", WINDOW),
    ("transformer", "full"),
    ("hybrid", WINDOW),
    ("hybrid", "full"),
    ("transformer", 1),  # a window of one token: each token sees itself only
]
IDS = [f"{v}-w{w}" for v, w in CASES]


def language_model(variant: str, window, **overrides) -> LanguageModel:
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=16, n_layer=3, d_state=4, vocab_size=6, variant=variant, attn_window=window,
        n_heads=2, residual_in_fp32=False, **overrides,
    )  # fmt: skip
    model = LanguageModel(config)
    with torch.no_grad():  # trained-looking weights: tiny out_proj/Δ would hide state errors
        for name, param in model.named_parameters():
            if name.endswith("out_proj.weight") or name.endswith("dt_proj.bias"):
                param.add_(0.3 * torch.randn_like(param))
    return model.double().eval()


def tokens(batch: int = 2, length: int = LENGTH) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randint(0, 6, (batch, length))


def in_pieces(model: LanguageModel, ids: torch.Tensor, piece: int) -> torch.Tensor:
    state = model.backbone.allocate_inference_cache(ids.shape[0])
    outputs = []
    for start in range(0, ids.shape[1], piece):
        logits, state = model(ids[:, start : start + piece], state)
        outputs.append(logits)
    return torch.cat(outputs, dim=1)


@pytest.mark.parametrize("piece", [3, 7, 40], ids=lambda p: f"piece{p}")
@pytest.mark.parametrize("variant, window", CASES, ids=IDS)
def test_forward_in_pieces_equals_one_pass(variant, window, piece):
    model = language_model(variant, window)
    ids = tokens()
    with torch.no_grad():
        full, _ = model(ids)
        torch.testing.assert_close(in_pieces(model, ids, piece), full, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("variant, window", CASES, ids=IDS)
def test_step_by_step_decoding_equals_the_forward(variant, window):
    model = language_model(variant, window)
    ids = tokens()
    with torch.no_grad():
        full, _ = model(ids)
        state = model.backbone.allocate_inference_cache(ids.shape[0])
        prompt = 9  # a prompt through forward, then steps continue from its state
        first, state = model(ids[:, :prompt], state)
        steps = [model.step(ids[:, t], state) for t in range(prompt, LENGTH)]
    torch.testing.assert_close(first, full[:, :prompt], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(torch.stack(steps, 1), full[:, prompt:], rtol=1e-10, atol=1e-10)


def test_the_windowed_cache_stays_window_sized():
    model = language_model("transformer", WINDOW)
    state = model.backbone.allocate_inference_cache(1)
    with torch.no_grad():
        _, state = model(tokens(1, 25), state)
        for t in range(10):
            model.step(torch.tensor([t % 6]), state)
    assert all(layer.k.shape[2] == WINDOW for layer in state)
    assert sorted(state[0].pos.tolist()) == list(range(35 - WINDOW, 35))


def test_windowed_attention_sees_exactly_the_window():
    """Changing a token changes outputs W-1 positions on, and not one further."""
    torch.manual_seed(0)
    attention = Attention(8, 2, window=WINDOW).double()
    x = torch.randn(1, 30, 8, dtype=torch.float64)
    changed = x.clone()
    changed[:, 10] += 1
    diff = (attention(x)[0] - attention(changed)[0]).abs().amax(-1)[0]  # (L,)
    touched = (diff > 0).nonzero().flatten().tolist()
    assert touched == list(range(10, 10 + WINDOW))


@pytest.mark.parametrize("window", [WINDOW, None])
def test_non_causal_attention_sees_both_sides_and_ignores_padding(window):
    torch.manual_seed(0)
    attention = Attention(8, 2, window=window, causal=False).double()
    x = torch.randn(2, 20, 8, dtype=torch.float64)
    changed = x.clone()
    changed[:, 10] += 1
    diff = (attention(x)[0] - attention(changed)[0]).abs().amax(-1)[0]
    touched = (diff > 0).nonzero().flatten().tolist()
    assert touched == (list(range(10 - WINDOW + 1, 10 + WINDOW)) if window else list(range(20)))
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[1, 13:] = False
    padded = attention(x, mask=mask)[0]
    alone = attention(x[1:, :13])[0]
    torch.testing.assert_close(padded[1:, :13], alone, rtol=1e-10, atol=1e-12)


def test_rotary_scores_depend_on_relative_positions_only():
    torch.manual_seed(0)
    q, k = torch.randn(2, 4, 8, dtype=torch.float64).unbind(0)
    pos = torch.arange(4)
    near = rotary(q, pos, 1e4) @ rotary(k, pos, 1e4).T
    far = rotary(q, pos + 5_000_000, 1e4) @ rotary(k, pos + 5_000_000, 1e4).T
    torch.testing.assert_close(far, near, rtol=1e-8, atol=1e-8)
