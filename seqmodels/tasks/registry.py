"""The tasks `seqmodels fit task=NAME` knows, each a module with two builders.

A task module defines `build_datamodule(cfg)` and `build_module(cfg, datamodule, card=None)`;
given `card` (a trained model's ModelCard), build_module makes the LightningModule for that
model instead of a new one, and checks that the model is one the task scores and that the data
fits it. Modules are imported on first use,
so that a DNA run never imports the audio stack.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from seqmodels.errors import UserError

TASKS: dict[str, str] = {
    "audio_classify": "seqmodels.tasks.audio_classify",
    "audio_lm": "seqmodels.tasks.audio_lm",
    "dna_classify": "seqmodels.tasks.dna_classify",
    "dna_pretrain": "seqmodels.tasks.dna_pretrain",
    "dna_species": "seqmodels.tasks.dna_species",
}


def task_module(name: str) -> ModuleType:
    if name not in TASKS:
        raise UserError(f"unknown task {name!r}; tasks: {', '.join(sorted(TASKS))}")
    return importlib.import_module(TASKS[name])
