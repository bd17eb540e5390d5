"""Shareable models: model/ = config.json + model.safetensors, and loading them (or a checkpoint).

config.json says what the weights are: the backbone config, the head, the class names and the
alphabet. Loading never runs code: safetensors holds tensors only, and Lightning checkpoints are
read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from torch import nn

from seqmodels.errors import UserError
from seqmodels.io.atomic import atomic_write, read_checkpoint
from seqmodels.models import LanguageModel, ModelConfig, SequenceClassifier
from seqmodels.models.mamba_checkpoint import Alphabet, is_mamba_config, load_mamba_checkpoint

FORMAT = "seqmodels-model"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def build_model(info: dict[str, Any]) -> nn.Module:
    """An untrained model of the kind and shape `info` (config.json) describes."""
    config = ModelConfig.from_dict(info["model"])
    if info["kind"] == "classifier":
        return SequenceClassifier(
            config,
            len(info["class_names"]),
            info.get("pooling", "mean"),
            rc_average=info.get("rc_average", False),
        )
    if info["kind"] == "lm":
        return LanguageModel(config)
    raise UserError(f"unknown model kind {info['kind']!r} in config.json")


def save_pretrained(model_dir: Path, model: nn.Module, info: dict[str, Any]) -> Path:
    """Write model_dir/model.safetensors then model_dir/config.json (last: it marks completion)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(model_dir / WEIGHTS_NAME, lambda p: save_model(model, str(p)))
    text = json.dumps({"format": FORMAT, "format_version": 1, **info}, indent=2)
    atomic_write(model_dir / CONFIG_NAME, lambda p: p.write_text(text + "\n"))
    return model_dir


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    checkpoint = read_checkpoint(path)
    info = (checkpoint.get("hyper_parameters") or {}).get("info")
    if not isinstance(info, dict):
        raise UserError(f"{path}: not a seqmodels checkpoint (no model description inside)")
    weights = checkpoint.get("state_dict")
    if not isinstance(weights, dict):
        raise UserError(f"{path}: not a seqmodels checkpoint (no state_dict inside)")
    state = {
        key.removeprefix("model."): value
        for key, value in weights.items()
        if key.startswith("model.")
    }
    return info, state


def resolve_model_path(path: str | Path) -> Path:
    """A run directory, a model/ directory or a .ckpt file → the model dir or checkpoint to read."""
    path = Path(path).expanduser()
    if path.is_dir():
        for candidate in (path, path / "model"):
            if (candidate / CONFIG_NAME).exists():
                return candidate
        checkpoints = path / "checkpoints"
        if (checkpoints / "best.ckpt").exists():
            return checkpoints / "best.ckpt"
        raise UserError(
            f"{path}: no trained model here (expected {CONFIG_NAME} in it or in model/): "
            "point at a run directory, its model/ folder or a .ckpt file"
        )
    if path.is_file():
        return path
    raise UserError(f"{path}: no such run, model directory or checkpoint")


def load_pretrained(
    path: str | Path, alphabet: Alphabet | None = None, token_map: dict | str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Load a model (eval mode, on the CPU) and its description from a run, model dir or .ckpt;
    or from a mamba_ssm checkpoint folder, its tokens mapped onto `alphabet` (mamba_checkpoint)."""
    path = resolve_model_path(path)
    if path.is_dir():
        try:
            info = json.loads((path / CONFIG_NAME).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"{path / CONFIG_NAME}: not valid JSON ({error})") from None
        if isinstance(info, dict) and is_mamba_config(info):
            return load_mamba_checkpoint(path, alphabet, token_map)
        if info.get("format") != FORMAT:
            raise UserError(f"{path / CONFIG_NAME}: not a seqmodels model description")
        model = build_model(info)
        missing, unexpected = load_model(model, str(path / WEIGHTS_NAME), strict=False)
        if missing or unexpected:
            raise UserError(
                f"{path / WEIGHTS_NAME}: weights do not match config.json "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
    else:
        info, state = _read_checkpoint(path)
        model = build_model(info)
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            first = str(error).strip().splitlines()[0]
            raise UserError(
                f"{path}: weights do not match the model it describes ({first})"
            ) from None
    return model.eval(), info
