"""task=dna_pretrain: next-base language modeling on FASTA files, with sequence-length warmup.

The model is a causal backbone (it predicts each base from the ones before it); fine-tuning
with init_from turns its weights into any backbone variant (seqmodels.models.backbones).
Validation and test also log the best order-k Markov model on the same windows
(seqmodels.tasks.dna_baselines) as `<stage>/markov_bits_per_base`, with its k as
`<stage>/markov_order`, so that a run's `<stage>/bits_per_base` is read against it.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqmodels.data.dna.pretrain import DnaPretrainDataModule
from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE
from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.models.config import CAUSAL_VARIANTS
from seqmodels.tasks.config import model_config
from seqmodels.tasks.dna_baselines import pretrain_baselines
from seqmodels.tasks.language_model import LanguageModelTask
from seqmodels.tasks.seq_len_warmup import SequenceLengthWarmup, warmup_stages


class DnaPretrainTask(LanguageModelTask):
    """The language-model task with the warmup callback (`warmup` holds its arguments), logging
    `baselines` ({stage: {name: value}}) beside its own bits."""

    def __init__(
        self,
        info: dict[str, Any],
        optim: dict[str, Any],
        warmup: dict[str, int],
        baselines: dict[str, dict[str, float]] | None = None,
    ):
        super().__init__(info, optim)  # save_hyperparameters keeps warmup, baselines as hparams

    def configure_callbacks(self) -> list[SequenceLengthWarmup]:
        return [SequenceLengthWarmup(**self.hparams.warmup)]

    def baseline_metrics(self, stage: str) -> dict[str, float]:
        baselines = (self.hparams.baselines or {}).get(stage, {})
        return {f"{stage}/{name}": value for name, value in baselines.items()}


def _warmup(cfg: DictConfig) -> dict[str, int]:
    return {
        # at or above the full length (or null): no warmup
        "min_len": min(cfg.warmup.min_len or cfg.data.seq_len, cfg.data.seq_len),
        "max_len": cfg.data.seq_len,
        "batch_size": cfg.data.batch_size,
        "epochs_per_stage": cfg.warmup.epochs_per_stage,
    }


def build_datamodule(cfg: DictConfig) -> DnaPretrainDataModule:
    warmup = _warmup(cfg)
    first_rows, _ = warmup_stages(warmup["min_len"], warmup["max_len"], warmup["batch_size"])[0]
    return DnaPretrainDataModule(
        **OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed, max_rows=first_rows
    )


def build_module(
    cfg: DictConfig, datamodule: DnaPretrainDataModule, card: ModelCard | None = None
) -> DnaPretrainTask:
    if card is None:
        model = model_config(cfg, vocab_size=VOCAB_SIZE, complement=COMPLEMENT)
        if model.variant not in CAUSAL_VARIANTS:
            raise UserError(
                f"task=dna_pretrain trains a causal next-base model, not {model.variant}: "
                "pretrain with model.variant=causal, then fine-tune any variant with init_from"
            )
        card = ModelCard(
            kind="lm",
            task=cfg.task.name,
            model=model.to_dict(),
            alphabet="dna",
            pad_id=PAD_ID,
            unit="base",
            seq_len=cfg.data.seq_len,
        )
    else:
        card.require(kind="lm", alphabet="dna", what="task=dna_pretrain")
    optim = OmegaConf.to_container(cfg.optim, resolve=True)
    return DnaPretrainTask(card.to_dict(), optim, _warmup(cfg), pretrain_baselines(datamodule))
