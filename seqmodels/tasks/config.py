"""Reading the parts of a run's configuration that every task shares."""

from __future__ import annotations

import dataclasses
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE
from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.overrides import check_value


def model_config(cfg: DictConfig, train_len: int | None = None, **fixed: Any) -> ModelConfig:
    """The backbone config: the preset named in cfg.model, then every non-null field set there,
    then `fixed` (what the data decides, such as the vocabulary size). model.attn_window=auto
    becomes the training window length: `train_len`, else data.train_seq_len or data.seq_len."""
    fields = {k: v for k, v in OmegaConf.to_container(cfg.model).items() if v is not None}
    preset = fields.pop("preset")
    try:
        defaults = ModelConfig.preset(preset)
        for key, value in fields.items():  # model.d_model=1.5: the preset's types are the schema
            check_value(f"model.{key}", value, getattr(defaults, key, None))
        config = ModelConfig.preset(preset, **{**fields, **fixed})
        data = cfg.get("data") or {}
        train_len = train_len or data.get("train_seq_len") or data.get("seq_len")
        return config if train_len is None else config.with_window(train_len)
    except (TypeError, ValueError) as error:
        raise UserError(f"model: {error}") from None


def dna_classifier_card(cfg: DictConfig, class_names: list[str], seq_len: int) -> ModelCard:
    """The card of a new DNA classifier for this run."""
    return _dna_card(cfg, seq_len, kind="classifier", class_names=list(class_names))


def dna_target_card(
    cfg: DictConfig,
    kind: str,
    names: list[str],
    seq_len: int,
    mean: list[float] | None = None,
    std: list[float] | None = None,
) -> ModelCard:
    """The card of a new DNA regressor (`mean`, `std`: the training targets') or multi-label
    classifier (`kind="multilabel"`) of the targets `names`."""
    fields = {"target_names": list(names)}
    if kind == "regressor":
        fields.update(target_mean=[float(v) for v in mean], target_std=[float(v) for v in std])
    return _dna_card(cfg, seq_len, kind=kind, **fields)


def _dna_card(cfg: DictConfig, seq_len: int, **fields: Any) -> ModelCard:
    train_len = cfg.data.get("train_seq_len") or seq_len
    model = model_config(cfg, train_len, vocab_size=VOCAB_SIZE, complement=COMPLEMENT)
    if model.variant == "rc_equivariant" and cfg.head.pooling != "mean":
        raise UserError(
            f"head.pooling={cfg.head.pooling} is not RC-invariant (the last base of a sequence is "
            "the first of its reverse complement): use head.pooling=mean with rc_equivariant"
        )
    return ModelCard(
        task=cfg.task.name,
        model=model.to_dict(),
        pooling=cfg.head.pooling,
        rc_average=bool(cfg.head.rc_average),
        alphabet="dna",
        pad_id=PAD_ID,
        seq_len=int(seq_len),
        **fields,
    )


def audio_card(
    cfg: DictConfig, kind: str, model: ModelConfig, rate: int, seq_len: int, **fields: Any
) -> ModelCard:
    """The card of a new model of mu-law audio at `rate` Hz, trained on `seq_len` samples."""
    return ModelCard(
        kind=kind,
        task=cfg.task.name,
        model=model.to_dict(),
        alphabet="mulaw",
        sample_rate=rate,
        seq_len=seq_len,
        **fields,
    )


def trained_audio_card(
    cfg: DictConfig,
    card: ModelCard,
    kind: str,
    rate: int,
    clip_len: int | None = None,
    class_names: list[str] | None = None,
) -> ModelCard:
    """A trained audio model's card, for scoring it on cfg's data: the same kind and sample
    rate, and for a classifier (class_names given) the same classes and clip length."""
    card.require(kind=kind, alphabet="mulaw", what=f"task={cfg.task.name}")
    if class_names is not None and card.class_names != class_names:
        raise UserError(
            f"the model knows labels {card.class_names} but the data has "
            f"{class_names}: evaluate it on the data it was trained for"
        )
    if clip_len is not None and (card.sample_rate, card.seq_len) != (rate, clip_len):
        raise UserError(
            f"the model takes {card.seconds:g} s clips at {card.sample_rate} Hz: set "
            f"data.sample_rate={card.sample_rate} data.clip_seconds={card.seconds:g}"
        )
    if card.sample_rate != rate:
        raise UserError(
            f"the model was trained at {card.sample_rate} Hz: "
            f"set data.sample_rate={card.sample_rate}"
        )
    return card


def trained_classifier_card(cfg: DictConfig, card: ModelCard, class_names: list[str]) -> ModelCard:
    """A trained classifier's card, for scoring it on cfg's data: the classes must be the same;
    head.rc_average applies, so a model can be scored with and without it."""
    card.require(kind="classifier", alphabet="dna", what=f"task={cfg.task.name}")
    if list(class_names) != card.class_names:
        raise UserError(
            f"the model knows classes {card.class_names} but the data has "
            f"{list(class_names)}: evaluate it on the data it was trained for"
        )
    return _rc_average(cfg, card)


def trained_target_card(cfg: DictConfig, card: ModelCard, kind: str, names: list[str]) -> ModelCard:
    """A trained regressor's or multi-label classifier's card, for scoring it on cfg's data: the
    same kind and targets (a regressor keeps its training mean and std)."""
    card.require(kind=kind, alphabet="dna", what=f"task={cfg.task.name} on these labels")
    if list(names) != card.target_names:
        raise UserError(
            f"the model predicts targets {card.target_names} but data.label_columns is "
            f"{list(names)}: evaluate it on the columns it was trained for"
        )
    return _rc_average(cfg, card)


def _rc_average(cfg: DictConfig, card: ModelCard) -> ModelCard:
    if cfg.head.rc_average and card.model.get("complement") is None:
        raise UserError("head.rc_average=true needs a model trained with seqmodels' DNA tasks")
    return dataclasses.replace(card, rc_average=bool(cfg.head.rc_average))
