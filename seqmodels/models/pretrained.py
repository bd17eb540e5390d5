"""Shareable models: model/ = config.json + model.safetensors, and loading them (or a checkpoint).

config.json is the model card (seqmodels.io.model_card): what the weights are, the backbone
config, the head, the class names and the alphabet. Loading never runs code: safetensors holds
tensors only, and Lightning checkpoints are read with `torch.load(weights_only=True)`.
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
from seqmodels.io.model_card import ModelCard
from seqmodels.models import LanguageModel, ModelConfig, SequenceClassifier, SequenceRegressor
from seqmodels.models.mamba_checkpoint import Alphabet, is_mamba_config, load_mamba_checkpoint

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def build_model(card: ModelCard) -> nn.Module:
    """An untrained model of the kind and shape the card describes."""
    try:
        config = ModelConfig.from_dict(card.model)
    except (TypeError, ValueError) as error:
        raise UserError(f"{card.source or 'model card'}: {error}") from None
    pooling, rc_average = card.pooling or "mean", bool(card.rc_average)
    if card.kind == "classifier":
        return SequenceClassifier(config, len(card.class_names), pooling, rc_average=rc_average)
    if card.kind == "multilabel":  # one logit per label
        return SequenceClassifier(config, len(card.target_names), pooling, rc_average=rc_average)
    if card.kind == "regressor":
        return SequenceRegressor(
            config, card.target_mean, card.target_std, pooling, rc_average=rc_average
        )
    return LanguageModel(config)


def save_pretrained(model_dir: Path, model: nn.Module, card: ModelCard) -> Path:
    """Write model_dir/model.safetensors then model_dir/config.json (last: it marks completion)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(model_dir / WEIGHTS_NAME, lambda p: save_model(model, str(p)))
    text = card.to_json()
    atomic_write(model_dir / CONFIG_NAME, lambda p: p.write_text(text))
    return model_dir


def _read_checkpoint(path: Path) -> tuple[ModelCard, dict[str, torch.Tensor]]:
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
    return ModelCard.from_dict(info, str(path)), state


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
) -> tuple[nn.Module, ModelCard]:
    """Load a model (eval mode, on the CPU) and its card from a run, model dir or .ckpt; or from
    a mamba_ssm checkpoint folder, its tokens mapped onto `alphabet` (mamba_checkpoint)."""
    path = resolve_model_path(path)
    if path.is_dir():
        text = _read_text(path / CONFIG_NAME)
        if is_mamba_config(_json_or_none(text)):
            return load_mamba_checkpoint(path, alphabet, token_map)
        card = ModelCard.from_json(text, str(path / CONFIG_NAME))
        model = build_model(card)
        missing, unexpected = load_model(model, str(path / WEIGHTS_NAME), strict=False)
        if missing or unexpected:
            raise UserError(
                f"{path / WEIGHTS_NAME}: weights do not match config.json "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
    else:
        card, state = _read_checkpoint(path)
        model = build_model(card)
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            first = str(error).strip().splitlines()[0]
            raise UserError(
                f"{path}: weights do not match the model it describes ({first})"
            ) from None
    return model.eval(), card


def _json_or_none(text: str) -> Any:
    """The parsed JSON, or None when it is not JSON (ModelCard.from_json says what is wrong)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode()
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None
