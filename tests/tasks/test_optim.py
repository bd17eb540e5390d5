"""AdamW groups and the learning-rate schedule."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from seqmodels.models import ModelConfig, SequenceClassifier
from seqmodels.tasks.optim import build_optimizer, parameter_groups, use_fused, warmup_cosine


def test_ssm_parameters_biases_and_norms_are_not_decayed():
    model = SequenceClassifier(ModelConfig(d_model=16, n_layer=2), 3)
    decay, no_decay = parameter_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    no_decay_ids = {id(p) for p in no_decay["params"]}
    decay_ids = {id(p) for p in decay["params"]}
    mixer = model.backbone.layers[0].mixer
    for p in (mixer.A_log, mixer.D, mixer.dt_proj.bias, model.backbone.norm_f.weight):
        assert id(p) in no_decay_ids
    assert id(mixer.in_proj.weight) in decay_ids and id(mixer.dt_proj.weight) in decay_ids
    assert len(decay_ids) + len(no_decay_ids) == len(list(model.parameters()))


def test_warmup_then_cosine_to_the_floor():
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(model, lr=1.0, weight_decay=0.0)
    schedule = warmup_cosine(optimizer, warmup_steps=10, total_steps=110, min_lr_ratio=0.1)
    rates = []
    for _ in range(120):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == 0.1 and rates[9] == 1.0
    assert all(a >= b for a, b in zip(rates[9:109], rates[10:110], strict=True))
    assert abs(rates[60] - 0.55) < 1e-9 and abs(rates[119] - 0.1) < 1e-12


def test_fused_adamw_only_where_every_parameter_is_on_a_gpu():
    gpu, cpu = SimpleNamespace(is_cuda=True), SimpleNamespace(is_cuda=False)
    assert use_fused([gpu, gpu]) and not use_fused([gpu, cpu]) and not use_fused([])
    optimizer = build_optimizer(nn.Linear(3, 2), lr=1e-3, weight_decay=0.1)
    assert not optimizer.defaults["fused"]  # CPU parameters: the default implementation


@pytest.mark.gpu
def test_fused_adamw_on_a_gpu():
    optimizer = build_optimizer(nn.Linear(3, 2).cuda(), lr=1e-3, weight_decay=0.1)
    assert optimizer.defaults["fused"]
