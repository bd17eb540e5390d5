"""The Python API for notebooks: `seqmodels.load(run_or_model_dir)` → a `Pretrained` model,
with predict_fasta (genomes), predict_table (labelled-data files), embed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.errors import UserError
from seqmodels.inference.dna import RecordPrediction, WindowPrediction, classify_store
from seqmodels.inference.embed import EmbeddingRow, embed_store
from seqmodels.inference.load import load_model
from seqmodels.inference.outputs import Outputs, require_predictable
from seqmodels.inference.tables import RowPrediction, check_labels, classify_rows, read_rows
from seqmodels.io.model_card import ModelCard


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

    @property
    def outputs(self) -> Outputs:
        """What a prediction's `values` are: `outputs.names` (classes, labels or targets, one
        value each) and `outputs.kind`; see seqmodels.inference.outputs."""
        return Outputs.of(self.card)

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
        """Predict every record of a FASTA file: windows of the training length by default, or
        window="record" for each record whole in one streaming pass of `segment`-token pieces.
        Each prediction's `values` are class or label probabilities, or a regressor's values in
        the data's units (a record's: the mean of its windows'); `predicted` is their text."""
        require_predictable(self.card, "predict_fasta")
        window = window or self.card.seq_len
        if window is None:
            raise UserError("this model records no training length: give window=N or 'record'")
        store = GenomeStore.open(path)
        records, windows = classify_store(
            self.model, self.card, store, window, stride, batch_size, segment=segment
        )
        return (records, windows) if return_windows else records

    def predict_table(
        self,
        path: str | Path,
        genome: str | Path | None = None,
        labelled: bool | None = None,
        batch_size: int = 64,
        segment: int | None = None,
    ) -> list[RowPrediction]:
        """Predict every row of a file task=dna_classify trains on (a sequence or coordinate
        table, BED, FASTA with '|label' headers, a folder of class folders), each row whole, in
        input order; `genome` is the FASTA that coordinates refer to. Each prediction carries
        the row's fields and label (labelled: as in `seqmodels predict`; a regressor's or
        multi-label model's label: the texts of its target columns), its `values` (as in
        predict_fasta) and `predicted`."""
        require_predictable(self.card, "predict_table")
        store = None if genome is None else GenomeStore.open(genome)
        rows = read_rows(path, store, labelled, self.card)
        check_labels(rows, self.card)
        return classify_rows(self.model, self.card, rows, batch_size, segment)

    def embed(
        self,
        path: str | Path,
        window: int | str | None = None,
        stride: int | None = None,
        pooling: str = "mean",
        batch_size: int = 64,
        segment: int | None = None,
    ) -> tuple[np.ndarray, list[EmbeddingRow]]:
        """The pooled backbone output (float32, (n, d_model)) of every window of a FASTA file, or
        of each record whole with window="record", and where each row comes from."""
        window = window or self.card.seq_len
        if window is None:
            raise UserError("this model records no training length: give window=N or 'record'")
        store = GenomeStore.open(path)
        return embed_store(self.model, store, window, stride, pooling, batch_size, segment)


def load(path: str | Path, token_map: dict | str | None = None) -> Pretrained:
    """Load a run directory, its model/ folder, or a .ckpt file (weights only, never code); or a
    mamba_ssm / Hugging Face checkpoint folder, its token ids mapped onto the DNA alphabet from
    its tokenizer files or `token_map` ({"A": id, ...}, a JSON file or "A:7,C:8,...")."""
    model, card = load_model(path, token_map)
    return Pretrained(model, card)
