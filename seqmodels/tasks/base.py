"""What every task's LightningModule shares: the model its card describes, the optimiser and
schedule, and fresh training windows each epoch."""

from __future__ import annotations

from typing import Any

import lightning as L
from torchmetrics import Metric

from seqmodels.io.model_card import ModelCard
from seqmodels.models.pretrained import build_model
from seqmodels.tasks.optim import build_optimizer, warmup_cosine


class SequenceTask(L.LightningModule):
    """`info` is the model card as a plain dict (`ModelCard.to_dict()`: what config.json holds),
    so that checkpoints hold data only; `optim` the optimiser settings."""

    def __init__(self, info: dict[str, Any], optim: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = build_model(self.card)
        self.pad_id = self.card.pad_id

    @property
    def card(self) -> ModelCard:
        """The model card of `hparams.info`."""
        return ModelCard.from_dict(self.hparams.info)

    def configure_optimizers(self) -> dict[str, Any]:
        optim = self.hparams.optim
        optimizer = build_optimizer(self.model, optim["lr"], optim["weight_decay"], optim["betas"])
        total = int(self.trainer.estimated_stepping_batches)
        warmup = min(optim["warmup_steps"], max(1, total // 10))
        scheduler = warmup_cosine(optimizer, warmup, total, optim["min_lr_ratio"])
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def setup(self, stage: str) -> None:
        # Metric states go into checkpoints (before Lightning restores one), so that an epoch
        # resumed mid-way reports what the uninterrupted epoch would: its batches before the kill
        # count too.
        for module in self.modules():
            if isinstance(module, Metric):
                module.persistent(True)

    def on_train_epoch_start(self) -> None:
        # Lightning calls this for a new epoch, not for the rest of one resumed mid-way: the
        # train/ metrics start empty even when the checkpoint was saved before they were reset.
        for name, module in self.named_modules():
            if name.startswith("train") and isinstance(module, Metric):
                module.reset()
        # Fresh training windows every epoch, the same on every run with the same seed.
        dataset = getattr(self.trainer.train_dataloader, "dataset", None)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.current_epoch)
