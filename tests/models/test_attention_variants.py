"""The hybrid and transformer variants: sizes, config checks, streaming, RC equivariance and
fine-tuning from an SSM model."""

import pytest
import torch
from omegaconf import OmegaConf

from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.models import LanguageModel, ModelConfig, SequenceClassifier, build_backbone
from seqmodels.models.backbones import map_backbone_state
from seqmodels.models.pretrained import save_pretrained
from seqmodels.models.streaming import stream_classify, stream_pool, tensor_reader
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.training.finetune import init_from

COMPLEMENT = [0, 4, 3, 2, 1, 5]  # PAD, A, C, G, T, N → PAD, T, G, C, A, N


def params(config: ModelConfig) -> int:
    return sum(p.numel() for p in build_backbone(config).parameters())


@pytest.mark.parametrize("preset", ["dna-tiny", "dna-small", "audio-small"])
def test_transformer_and_hybrid_are_within_ten_percent_of_the_ssm_preset(preset):
    ssm = params(ModelConfig.preset(preset))
    for variant in ("transformer", "hybrid"):
        other = params(ModelConfig.preset(preset, variant=variant, attn_window=64))
        assert abs(other / ssm - 1) < 0.10, (variant, other, ssm)


def test_attention_placement():
    assert ModelConfig(n_layer=4, variant="hybrid").attention_layers() == [1, 3]
    assert ModelConfig(n_layer=1, variant="hybrid").attention_layers() == [0]
    assert ModelConfig(n_layer=6, variant="hybrid", attn_every=3).attention_layers() == [2, 5]
    assert ModelConfig(n_layer=4, variant="hybrid", attn_layers=[2, 0]).attention_layers() == [0, 2]
    assert ModelConfig(n_layer=3, variant="transformer").attention_layers() == [0, 1, 2]
    rc = ModelConfig(n_layer=3, variant="rc_equivariant", complement=COMPLEMENT)
    assert rc.attention_layers() == []
    assert ModelConfig(n_layer=3, variant="causal").attention_layers() == []


@pytest.mark.parametrize(
    "fields, expected",
    [
        (dict(variant="hybrid", attn_layers=[4]), "block 4 is outside the depth"),
        (dict(variant="hybrid", attn_layers=[-1]), "block -1 is outside the depth"),
        (dict(variant="hybrid", attn_window=0), "expected a positive whole number"),
        (dict(variant="hybrid", attn_window=2.5), "expected a positive whole number"),
        (dict(variant="hybrid", attn_window="wide"), "expected a positive whole number"),
        (dict(variant="bidirectional", attn_every=2), "a bidirectional hybrid is not supported"),
        (dict(variant="causal", attn_layers=[1]), "use model.variant=hybrid"),
        (dict(variant="transformer", attn_every=2), "every block of a transformer"),
        (dict(variant="hybrid", attn_every=0), "model.attn_every=0"),
        (dict(variant="hybrid", attn_layers=3), "expected block numbers"),
        (dict(variant="hybrid", n_heads=3), "must divide d_model"),
    ],
)
def test_bad_attention_fields_are_one_line_errors(fields, expected):
    with pytest.raises(ValueError, match=expected):
        ModelConfig(n_layer=4, d_model=64, **fields)


def test_auto_window_is_the_training_length():
    config = ModelConfig(variant="hybrid")
    with pytest.raises(ValueError, match="attn_window=auto"):
        build_backbone(config)
    assert config.with_window(512).window == 512
    assert ModelConfig(variant="hybrid", attn_window="full").with_window(512).window is None


def classifier(variant: str, **fields) -> SequenceClassifier:
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=16, n_layer=3, d_state=4, n_heads=2, variant=variant, complement=COMPLEMENT,
        residual_in_fp32=False, **fields,
    )  # fmt: skip
    return SequenceClassifier(config, 3).double().eval()


CASES = [
    ("transformer", dict(attn_window=8)),
    ("hybrid", dict(attn_window=8)),
    ("hybrid", dict(attn_window="full")),
    ("rc_equivariant", dict(attn_every=2, attn_window=8)),
]


@pytest.mark.parametrize("variant, fields", CASES, ids=[f"{v}-{f}" for v, f in CASES])
def test_streaming_a_record_equals_the_full_pass(variant, fields):
    model = classifier(variant, **fields)
    torch.manual_seed(1)
    ids = torch.randint(1, 6, (1, 70))
    streamed = stream_classify(model, tensor_reader(ids), 70, segment=16)
    torch.testing.assert_close(streamed, model(ids), rtol=1e-10, atol=1e-12)


def test_the_rc_equivariant_hybrid_is_rc_invariant():
    model = classifier("rc_equivariant", attn_layers=[1], attn_window=8)
    torch.manual_seed(1)
    ids = torch.randint(1, 5, (2, 30))
    rc = torch.tensor(COMPLEMENT)[ids].flip(1)
    torch.testing.assert_close(model(rc), model(ids), rtol=1e-10, atol=1e-12)


def test_full_attention_over_a_long_record_is_refused_with_a_hint(monkeypatch):
    monkeypatch.setattr("seqmodels.models.streaming.FULL_ATTENTION_BUDGET", 10_000)
    model = classifier("transformer", attn_window="full")
    with pytest.raises(UserError, match="model.attn_window=N"):
        stream_pool(model.backbone, tensor_reader(torch.ones(1, 200, dtype=torch.long)), 200,
                    segment=50)  # fmt: skip
    windowed = classifier("transformer", attn_window=8)
    stream_pool(windowed.backbone, tensor_reader(torch.ones(1, 200, dtype=torch.long)), 200,
                segment=50)  # fmt: skip


def model_dict(**fields) -> dict:
    base = dict(d_model=16, n_layer=3, d_state=4, n_heads=2, complement=COMPLEMENT, attn_window=8)
    return ModelConfig(**{**base, **fields}).to_dict()


def saved(tmp_path, **fields):
    torch.manual_seed(0)
    info = {"kind": "lm", "model": model_dict(**fields), "alphabet": "dna", "pad_id": 0}
    model = LanguageModel(ModelConfig.from_dict(info["model"]))
    return save_pretrained(tmp_path / "model", model, ModelCard.from_dict(info)), model


def task(**fields) -> ClassificationTask:
    info = {"kind": "classifier", "model": model_dict(**fields), "class_names": ["a", "b"],
            "alphabet": "dna", "pad_id": 0}  # fmt: skip
    optim = {"lr": 1e-3, "weight_decay": 0.1, "betas": [0.9, 0.95], "warmup_steps": 1}
    return ClassificationTask(info, {**optim, "min_lr_ratio": 0.1})


def cfg(path) -> OmegaConf:
    finetune = {"freeze_backbone": False, "backbone_lr_scale": 1.0}
    return OmegaConf.create({"init_from": str(path), "finetune": finetune})


def test_an_ssm_run_fills_the_ssm_blocks_of_a_hybrid_and_names_the_new_ones(tmp_path, capsys):
    path, source = saved(tmp_path)
    target = task(variant="hybrid", attn_layers=[1])
    fresh = target.model.backbone.layers[1].mixer.qkv.weight.clone()
    init_from(target, cfg(path))
    assert "attention blocks 1 are new" in capsys.readouterr().out
    state = target.model.backbone.state_dict()
    for key, value in source.backbone.state_dict().items():
        if not key.startswith("layers.1."):
            torch.testing.assert_close(state[key], value, msg=key)
    torch.testing.assert_close(target.model.backbone.layers[1].mixer.qkv.weight, fresh)


@pytest.mark.parametrize(
    "source, target, expected",
    [
        (dict(variant="hybrid", attn_layers=[1]), dict(), "block 1 of the source is an attention"),
        (dict(), dict(variant="transformer"), "none of its blocks maps"),
        (dict(variant="transformer"), dict(variant="bidirectional"), "cannot initialise"),
    ],
)
def test_blocks_that_do_not_map_are_refused(tmp_path, source, target, expected):
    path, _ = saved(tmp_path, **source)
    with pytest.raises(UserError, match=expected):
        init_from(task(**target), cfg(path))


def test_a_hybrid_starts_a_hybrid_weight_for_weight():
    have = ModelConfig(**model_dict(variant="hybrid", attn_layers=[1]))
    state = build_backbone(have).state_dict()
    mapped, new = map_backbone_state(state, have, have)
    assert new == [] and mapped.keys() == state.keys()
