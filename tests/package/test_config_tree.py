"""The Hydra config tree: every fact in one place, and each task composing as it always did."""

from importlib.resources import files

import pytest
import yaml

from seqmodels.cli import compose_config
from seqmodels.models import PRESETS, ModelConfig
from seqmodels.tasks.config import model_config

CONF = files("seqmodels.conf")
TASKS = sorted(p.name.removesuffix(".yaml") for p in (CONF / "task").iterdir())
MODELS = sorted(p.name.removesuffix(".yaml") for p in (CONF / "model").iterdir())

# the optimiser settings of each task before the optim group existed
OPTIM = {
    "audio_classify": {"lr": 0.01, "warmup_steps": 20},
    "audio_lm": {"lr": 0.008, "warmup_steps": 20},
    "dna_classify": {"lr": 0.002, "warmup_steps": 50},
    "dna_pretrain": {"lr": 0.002, "warmup_steps": 50},
    "dna_species": {"lr": 0.004, "warmup_steps": 50},
}
SHARED = {"weight_decay": 0.1, "betas": [0.9, 0.95], "min_lr_ratio": 0.1}


def test_every_task_has_its_optimiser_settings():
    assert TASKS == sorted(OPTIM)
    for task in TASKS:
        optim = dict(compose_config([f"task={task}"]).optim)
        assert optim == {**SHARED, **OPTIM[task]}, task


def test_the_optim_block_is_written_once():
    for task in TASKS:
        text = (CONF / "task" / f"{task}.yaml").read_text()
        assert "- /optim: default" in text, task
        task_optim = yaml.safe_load(text).get("optim") or {}
        assert not set(task_optim) & set(SHARED), f"{task} repeats the shared optim values"


@pytest.mark.parametrize("name", MODELS)
def test_a_model_file_names_a_preset_and_holds_no_numbers(name):
    fields = yaml.safe_load((CONF / "model" / f"{name}.yaml").read_text())
    preset = fields.pop("preset")
    assert preset in PRESETS
    fields.pop("checkpointing")  # a training switch, not a size
    assert all(value is None for value in fields.values()), fields
    cfg = compose_config(["task=dna_species", f"model={name}"])
    built = model_config(cfg)
    expected = ModelConfig.preset(preset)
    for key, value in PRESETS[preset].items():
        assert getattr(built, key) == value == getattr(expected, key), (name, key)
