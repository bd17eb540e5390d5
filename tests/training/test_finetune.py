"""init_from: a trained model's backbone (weights only) under a new head, frozen or slower."""

import pytest
import torch
from omegaconf import OmegaConf

from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.models import LanguageModel, ModelConfig
from seqmodels.models.pretrained import save_pretrained
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.optim import build_optimizer
from seqmodels.training.finetune import init_from

COMPLEMENT = [0, 4, 3, 2, 1, 5]
OPTIM = {"lr": 1e-3, "weight_decay": 0.1, "betas": [0.9, 0.95], "warmup_steps": 1}


def model_dict(**overrides) -> dict:
    fields = dict(d_model=16, n_layer=2, d_state=4, complement=COMPLEMENT)
    return ModelConfig(**{**fields, **overrides}).to_dict()


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A saved DNA language model, as task=dna_pretrain exports it."""
    torch.manual_seed(0)
    info = {"kind": "lm", "model": model_dict(), "alphabet": "dna", "pad_id": 0, "unit": "base"}
    model = LanguageModel(ModelConfig.from_dict(info["model"]))
    card = ModelCard.from_dict(info)
    path = save_pretrained(tmp_path_factory.mktemp("lm") / "model", model, card)
    return path, model


def classifier(**overrides) -> ClassificationTask:
    torch.manual_seed(1)
    info = {
        "kind": "classifier",
        "model": model_dict(**overrides),
        "class_names": ["a", "b"],
        "alphabet": "dna",
        "pad_id": 0,
    }
    return ClassificationTask(info, {**OPTIM, "min_lr_ratio": 0.1})


def cfg(source, freeze: bool = False, scale: float = 1.0):
    finetune = {"freeze_backbone": freeze, "backbone_lr_scale": scale}
    return OmegaConf.create({"init_from": str(source), "finetune": finetune})


@pytest.mark.parametrize("variant", ["causal", "rc_equivariant"])
def test_backbone_weights_are_loaded_and_the_head_is_new(pretrained, variant):
    path, source = pretrained
    task = classifier(variant=variant)
    head = task.model.head.weight.clone()
    init_from(task, cfg(path))
    for key, value in source.backbone.state_dict().items():
        torch.testing.assert_close(task.model.backbone.state_dict()[key], value, msg=key)
    torch.testing.assert_close(task.model.head.weight, head)


def test_a_causal_model_starts_both_directions_of_a_bidirectional_one(pretrained):
    path, source = pretrained
    task = classifier(variant="bidirectional")
    init_from(task, cfg(path))
    expected = source.backbone.layers[0].mixer.dt_proj.weight
    torch.testing.assert_close(task.model.backbone.layers[0].mixer.rev.dt_proj.weight, expected)


def test_freeze_backbone_trains_the_head_only(pretrained):
    task = classifier()
    init_from(task, cfg(pretrained[0], freeze=True))
    optimizer = build_optimizer(task.model, 1e-3, 0.1)
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert trained == {id(p) for p in task.model.head.parameters()}


def test_backbone_lr_scale_gives_the_backbone_a_lower_rate(pretrained):
    task = classifier()
    init_from(task, cfg(pretrained[0], scale=0.1))
    optimizer = build_optimizer(task.model, 1e-3, 0.1)
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    assert [rate[id(p)] for p in task.model.backbone.parameters()] == pytest.approx(
        [1e-4] * len(list(task.model.backbone.parameters()))
    )
    assert {rate[id(p)] for p in task.model.head.parameters()} == {1e-3}


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"d_model": 32}, "d_model=16 (this run: 32)"),
        ({"vocab_size": 8, "complement": None}, "vocab_size=6 (this run: 8)"),
        ({"n_layer": 3}, "n_layer=2 (this run: 3)"),
    ],
    ids=["d_model", "vocabulary", "depth"],
)
def test_shapes_that_do_not_fit_are_one_clear_error(pretrained, overrides, expected):
    with pytest.raises(UserError, match=r"does not fit this run's model: .*") as error:
        init_from(classifier(**overrides), cfg(pretrained[0]))
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_init_from_nothing_or_without_a_source(tmp_path):
    with pytest.raises(UserError, match=r"init_from: .*nope: no such run"):
        init_from(classifier(), cfg(tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="init_from: .*no trained model here"):
        init_from(classifier(), cfg(empty))
    with pytest.raises(UserError, match="need init_from"):
        init_from(classifier(), OmegaConf.create({"init_from": None, **cfg("", freeze=True)}))


def test_a_bidirectional_model_cannot_start_a_causal_one(tmp_path):
    source = classifier(variant="bidirectional")
    path = save_pretrained(tmp_path / "bi", source.model, source.card)
    with pytest.raises(UserError, match="bidirectional backbone cannot initialise a causal"):
        init_from(classifier(), cfg(path))
