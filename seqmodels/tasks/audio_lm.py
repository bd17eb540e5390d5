"""task=audio_lm: next-sample modeling of raw audio as 8-bit mu-law tokens, in bits per sample.

Validation and test also log two baselines on the same windows (seqmodels.tasks.audio_baselines:
the entropy of the mu-law symbols, and linear prediction fitted on training windows), as
`<stage>/baseline_unigram_bits` and `<stage>/baseline_lpc_bits`, so that a run's
`<stage>/bits_per_sample` is read against them. `seqmodels generate` samples from the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from seqmodels.data.audio.datasets import FixedWindowDataset, tile_windows
from seqmodels.data.audio.lm import AudioLMDataModule
from seqmodels.data.audio.mulaw import CLASSES
from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.models.config import CAUSAL_VARIANTS
from seqmodels.tasks.audio_baselines import audio_baselines
from seqmodels.tasks.config import audio_card, model_config, trained_audio_card
from seqmodels.tasks.language_model import LanguageModelTask

BASELINE_TRAIN_WINDOWS = 512  # training windows the linear predictor is fitted on


class AudioLMTask(LanguageModelTask):
    """The language-model task, logging `baselines` ({stage: {name: bits}}) beside its own bits."""

    def __init__(
        self, info: dict[str, Any], optim: dict[str, Any], baselines: dict[str, dict[str, float]]
    ) -> None:
        super().__init__(info, optim)  # save_hyperparameters keeps baselines as hparams

    def baseline_metrics(self, stage: str) -> dict[str, float]:
        baselines = self.hparams.baselines.get(stage, {})
        return {f"{stage}/baseline_{name}_bits": bits for name, bits in baselines.items()}


def build_datamodule(cfg: DictConfig) -> AudioLMDataModule:
    return AudioLMDataModule(**OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed)


def _tokens(dataset: FixedWindowDataset) -> np.ndarray:
    return np.stack([dataset[i]["tokens"].numpy() for i in range(len(dataset))])  # (N, L)


def baselines(datamodule: AudioLMDataModule) -> dict[str, dict[str, float]]:
    """The baselines on the validation and test windows, fitted on training windows."""
    datamodule.prepare_data()
    rate, length, seed = datamodule.rate, datamodule.seq_len, datamodule.seed
    train = tile_windows(datamodule.files["train"], rate, length, BASELINE_TRAIN_WINDOWS, seed)
    scored = {stage: _tokens(datamodule.fixed_windows(stage)) for stage in ("val", "test")}
    return audio_baselines(_tokens(FixedWindowDataset(train, rate, length)), scored)


def build_module(
    cfg: DictConfig, datamodule: AudioLMDataModule, card: ModelCard | None = None
) -> AudioLMTask:
    if card is None:
        model = model_config(cfg, vocab_size=CLASSES)
        if model.variant not in CAUSAL_VARIANTS:
            raise UserError(
                f"task=audio_lm predicts each sample from the ones before it: it needs "
                f"model.variant=causal, hybrid or transformer, not {model.variant}"
            )
        card = audio_card(cfg, "lm", model, datamodule.rate, datamodule.seq_len, unit="sample")
    else:
        trained_audio_card(cfg, card, "lm", datamodule.rate)
    optim = OmegaConf.to_container(cfg.optim, resolve=True)
    return AudioLMTask(card.to_dict(), optim, baselines(datamodule))
