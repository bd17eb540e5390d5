"""The Python API for notebooks: `seqmodels.load(run_or_model_dir)` → a `Pretrained` model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.inference.dna import RecordPrediction, WindowPrediction, classify_store
from seqmodels.io.model_card import ModelCard
from seqmodels.models.pretrained import load_pretrained


@dataclass
class Pretrained:
    """A trained model and its card (config.json), ready to predict."""

    model: nn.Module
    card: ModelCard = field(repr=False)

    @property
    def info(self) -> dict[str, Any]:
        """The card as the plain dict config.json holds."""
        return self.card.to_dict()

    @property
    def class_names(self) -> list[str]:
        return list(self.card.class_names or [])

    def to(self, device: str | torch.device) -> Pretrained:
        self.model.to(device)
        return self

    def predict_fasta(
        self,
        path: str | Path,
        window: int | str | None = None,
        stride: int | None = None,
        batch_size: int = 64,
        return_windows: bool = False,
        segment: int | None = None,
    ) -> list[RecordPrediction] | tuple[list[RecordPrediction], list[WindowPrediction]]:
        """Classify every record of a FASTA file: windows of the training length by default, or
        window="record" for each record whole in one streaming pass of `segment`-token pieces."""
        self.card.require(kind="classifier", alphabet="dna", what="predict_fasta")
        window = window or self.card.seq_len
        store = GenomeStore.open(path)
        records, windows = classify_store(
            self.model, self.card, store, window, stride, batch_size, segment=segment
        )
        return (records, windows) if return_windows else records


def load(path: str | Path) -> Pretrained:
    """Load a run directory, its model/ folder, or a .ckpt file (weights only, never code)."""
    model, card = load_pretrained(path)
    return Pretrained(model, card)
