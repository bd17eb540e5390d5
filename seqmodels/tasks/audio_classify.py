"""task=audio_classify: which label folder a clip comes from, classified from its raw waveform.

Clips become a fixed number of mu-law tokens (data.clip_seconds at data.sample_rate) and a
backbone with pooling and a linear head classifies them; accuracy, macro-F1 and MCC are logged
per stage, and the run plots the test confusion matrix. `seqmodels predict clip.wav ...` applies
the trained model to audio files.
"""

from __future__ import annotations

import math

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from seqmodels.data.audio.classify import AudioClassifyDataModule
from seqmodels.data.audio.mulaw import CLASSES, token_features
from seqmodels.io.model_card import ModelCard
from seqmodels.io.tables import print_counts
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.config import audio_card, model_config, trained_audio_card


def build_datamodule(cfg: DictConfig) -> AudioClassifyDataModule:
    datamodule = AudioClassifyDataModule(
        **OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed
    )
    print_counts(
        f"audio clips ({datamodule.root})", "label", datamodule.class_names, datamodule.counts()
    )
    return datamodule


def init_embedding(model: nn.Module) -> None:
    """Start the token embedding from mu-law token features (mulaw.token_features), scaled to
    the row norm of the backbone's N(0, 0.02) init: the model then knows from the start which
    tokens stand for nearby amplitudes, instead of learning it from the waveforms (on the
    bundled digits, 86% validation accuracy after the default 150 steps instead of 64%)."""
    weight = model.backbone.embedding.weight
    with torch.no_grad():
        weight[:CLASSES] = token_features(weight.shape[1]) * 0.02 * math.sqrt(2)


def build_module(
    cfg: DictConfig, datamodule: AudioClassifyDataModule, card: ModelCard | None = None
) -> ClassificationTask:
    new = card is None
    if card is None:
        model = model_config(cfg, datamodule.clip_len, vocab_size=CLASSES)
        card = audio_card(
            cfg,
            "classifier",
            model,
            datamodule.rate,
            datamodule.clip_len,
            class_names=datamodule.class_names,
            pooling=cfg.head.pooling,
        )
    else:
        rate, clip_len, names = datamodule.rate, datamodule.clip_len, datamodule.class_names
        trained_audio_card(cfg, card, "classifier", rate, clip_len, names)
    module = ClassificationTask(card.to_dict(), OmegaConf.to_container(cfg.optim, resolve=True))
    if new:
        init_embedding(module.model)
    return module
