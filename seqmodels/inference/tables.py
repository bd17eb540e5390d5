"""Classifying the rows of a lab's labelled-data files (seqmodels.data.dna.labelled) with a trained
DNA classifier: tables of sequences or coordinates, BED, labelled FASTA and class folders.

Every row is read whole and keeps its length. Rows go through the model longest first, a batch
right-padded with PAD and the padding masked out, as task=dna_classify batches them in training
and testing, so a row gets the same probabilities alone or in any batch. A batch holds at most
`segment` tokens; a row longer than that is streamed on its own (seqmodels.models.streaming),
copied out of the genome's memory map one segment at a time, so memory is set by the segment,
not by the longest row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.labelled import LabelledSequence, read_labelled
from seqmodels.errors import UserError
from seqmodels.io.model_card import ModelCard
from seqmodels.models.streaming import default_segment, stream_classify


@dataclass
class RowPrediction:
    fields: tuple[tuple[str, str], ...]  # (column name, value) of the input row as written
    label: str | None  # the row's own label, None when the input has none
    predicted: str
    probabilities: np.ndarray  # (classes,)
    where: str  # "file, line N" (or record)


def read_rows(
    path: str | Path, genome: GenomeStore | None = None, labelled: bool | None = None
) -> list[LabelledSequence]:
    """The rows of a labelled-data file or class folder, for prediction, in input order.

    labelled: None reads the labels a file has (a `label` column, BED's 4th column, the class
    folders) and accepts rows without; True requires them; False ignores them (they stay in
    the fields), e.g. for a BED file whose name column holds peak names, not classes.
    """
    rows = read_labelled(path, genome, require_labels=labelled is True)
    if labelled is False:
        rows = [replace(row, label=None) for row in rows]
    return rows


def check_labels(rows: Sequence[LabelledSequence], class_names: Sequence[str]) -> None:
    """A one-line UserError naming the first row whose label is not one of the model's classes."""
    known = set(class_names)
    for row in rows:
        if row.label is not None and row.label not in known:
            raise UserError(
                f"{row.where}: label {row.label!r} is not one of the model's classes "
                f"({', '.join(class_names)}): fix the label, or give labelled=false to predict "
                "without scoring"
            )


def _batches(lengths: Sequence[int], batch_size: int, segment: int, pad: bool) -> list[list[int]]:
    """Row indices in batches, longest rows first: at most `batch_size` rows and `segment`
    tokens (padding included) per batch; a row longer than `segment` alone. Without a padding
    token (`pad` False) a batch holds rows of one length only."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        if batches:
            batch = batches[-1]
            longest = lengths[batch[0]]  # the first row of a batch is its longest
            fits = len(batch) < batch_size and (len(batch) + 1) * longest <= segment
            if fits and (pad or lengths[index] == longest):
                batch.append(index)
                continue
        batches.append([index])
    return batches


def _padded(rows: Sequence[np.ndarray], pad_id: int | None) -> torch.Tensor:
    """(B, L_max) int64 token ids, right-padded with pad_id (rows of one length need none)."""
    ids = torch.full((len(rows), max(len(row) for row in rows)), pad_id or 0, dtype=torch.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.from_numpy(np.asarray(row, dtype=np.int64))
    return ids


def _row_reader(tokens: np.ndarray, device: torch.device):
    """Tokens start:end of one row as ids (1, end - start): only that piece is copied out."""
    return lambda start, end: torch.from_numpy(tokens[start:end].astype(np.int64))[None].to(device)


@torch.inference_mode()
def classify_sequences(
    model: torch.nn.Module,
    card: ModelCard,
    sequences: Sequence[np.ndarray],
    batch_size: int = 64,
    segment: int | None = None,
    progress: Progress | None = None,
    description: str = "rows",
) -> np.ndarray:
    """Class probabilities (n, classes), float32, of token sequences of any lengths, in their
    order; see the module docstring. `progress` gets a task counting rows."""
    device = next(model.parameters()).device
    segment = default_segment(device) if segment is None else segment
    pad_id = card.pad_id
    task = None
    if progress is not None:
        task = progress.add_task(description, total=len(sequences))
    out = np.zeros((len(sequences), len(card.class_names)), dtype=np.float32)
    lengths = [len(tokens) for tokens in sequences]
    for batch in _batches(lengths, batch_size, segment, pad_id is not None):
        if lengths[batch[0]] > segment:
            read = _row_reader(sequences[batch[0]], device)
            logits = stream_classify(model, read, lengths[batch[0]], segment)
        else:
            ids = _padded([sequences[i] for i in batch], pad_id).to(device)
            # the mask of ClassificationTask.forward: the padding is not part of any row
            logits = model(ids, None if pad_id is None else ids != pad_id)
        out[batch] = logits.float().softmax(-1).cpu().numpy()
        if task is not None:
            progress.advance(task, len(batch))
    return out


def classify_rows(
    model: torch.nn.Module,
    card: ModelCard,
    rows: Sequence[LabelledSequence],
    batch_size: int = 64,
    segment: int | None = None,
    progress: Progress | None = None,
    description: str = "rows",
) -> list[RowPrediction]:
    """One prediction per row, in input order, with the row's fields and label."""
    probs = classify_sequences(
        model, card, [row.tokens for row in rows], batch_size, segment, progress, description
    )
    names = card.class_names
    return [
        RowPrediction(row.fields, row.label, names[int(p.argmax())], p, row.where)
        for row, p in zip(rows, probs, strict=True)
    ]
