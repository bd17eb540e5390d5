"""Predicting the rows of a lab's labelled-data files (seqmodels.data.dna.labelled) with a trained
DNA model: tables of sequences or coordinates, BED, labelled FASTA and class folders. A
classifier's, regressor's or multi-label model's outputs are what seqmodels.inference.outputs
says.

A row's label is what the model predicts: a classifier's, the text of the `label` column (BED:
the name column; labelled FASTA: the header's end; class folders: the folder); a regressor's or
multi-label model's, the columns named by the card's `target_names`, as in training (BED: `name`
or `score`), read as numbers. Class folders and labelled FASTA hold classes, not numbers: for a
regressor or multi-label model their rows are predicted without labels.

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
from seqmodels.data.dna.labelled import BED_COLUMNS, LabelledSequence, read_labelled
from seqmodels.data.dna.targets import as_numbers
from seqmodels.errors import UserError
from seqmodels.inference.outputs import Outputs
from seqmodels.inference.progress import Counter
from seqmodels.io.model_card import ModelCard
from seqmodels.models.streaming import device_and_segment, stream_classify


@dataclass
class RowPrediction:
    fields: tuple[tuple[str, str], ...]  # (column name, value) of the input row as written
    # the row's own label as read (several target columns: a tuple of texts); None when the
    # input has none
    label: str | tuple[str, ...] | None
    predicted: str  # the text of Outputs.predicted
    values: np.ndarray  # (outputs,): probabilities, or a regressor's values
    where: str  # "file, line N" (or record)

    @property
    def probabilities(self) -> np.ndarray:
        """`values` under the name they have for classifiers and multi-label models."""
        return self.values


def _holds_classes(path: Path) -> bool:
    """A class folder or a labelled FASTA: labels that are classes whatever the model."""
    if path.is_dir():
        return True
    name = path.name.lower()
    for suffix in (".gz", ".bgz", ".bgzf"):
        name = name.removesuffix(suffix)
    return Path(name).suffix not in (".bed", ".csv", ".tsv", ".tab", ".txt")


def read_rows(
    path: str | Path,
    genome: GenomeStore | None = None,
    labelled: bool | None = None,
    card: ModelCard | None = None,
) -> list[LabelledSequence]:
    """The rows of a labelled-data file or class folder, for prediction, in input order.

    labelled: None reads the labels a file has (see the module docstring for which, by the
    model's `card`; None: a classifier's) and accepts rows without; True requires them; False
    ignores them (they stay in the fields), e.g. for a BED file whose name column holds peak
    names, not classes.
    """
    path = Path(path).expanduser()
    columns: tuple[str, ...] = ("label",)
    if card is not None and card.kind != "classifier":
        columns = tuple(card.target_names)
        bed = path.name.lower().endswith((".bed", ".bed.gz", ".bed.bgz", ".bed.bgzf"))
        unreadable = bed and any(name.lower() not in BED_COLUMNS for name in columns)
        if labelled is True and unreadable:
            raise UserError(
                f"{path}: labelled=true, but the model's targets ({', '.join(columns)}) are not "
                "columns of BED (its label columns are name, the 4th, and score, the 5th): "
                "leave labelled= out to predict without scoring"
            )
        # (labelled=true of a FASTA file says it is rows; its labels are classes all the same)
        if unreadable or (path.exists() and _holds_classes(path)):
            rows = read_labelled(path, genome, require_labels=False)
            return [replace(row, label=None) for row in rows]
    try:
        rows = read_labelled(path, genome, columns, require_labels=labelled is True)
    except UserError as error:  # fit's hint, in terms of this model
        hint = "data.label_columns names columns of the header"
        if hint not in str(error):
            raise
        better = "the model's target_names name the columns it scores (labelled=false: none)"
        raise UserError(str(error).replace(hint, better)) from None
    if labelled is False:
        rows = [replace(row, label=None) for row in rows]
    return rows


def check_labels(rows: Sequence[LabelledSequence], classes: Sequence[str] | ModelCard) -> None:
    """A one-line UserError naming the first row whose label is not one of the model's classes
    (`classes`: the class names, or the model's card); for a regressor's or multi-label model's
    card, the first whose label columns do not hold numbers (0 or 1) in every row."""
    if isinstance(classes, ModelCard) and classes.kind != "classifier":
        label_numbers(rows, classes)
        return
    class_names = classes.class_names if isinstance(classes, ModelCard) else classes
    known = set(class_names)
    for row in rows:
        if row.label is not None and row.label not in known:
            raise UserError(
                f"{row.where}: label {row.label!r} is not one of the model's classes "
                f"({', '.join(class_names)}): fix the label, or give labelled=false to predict "
                "without scoring"
            )


def label_numbers(
    rows: Sequence[LabelledSequence | RowPrediction], card: ModelCard
) -> list[np.ndarray | None]:
    """A regressor's or multi-label model's labels of each row (or prediction) as numbers
    (targets,), float32; None for a row without; a one-line UserError naming the first row and
    column that do not hold a number (multi-label: 0 or 1)."""
    target = "multilabel" if card.kind == "multilabel" else "regression"
    names = card.target_names
    return [
        None if row.label is None else as_numbers(row.label, names, row.where, target)
        for row in rows
    ]


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
    """The outputs (n, outputs), float32, of token sequences of any lengths, in their order:
    class or label probabilities or a regressor's values (seqmodels.inference.outputs); see the
    module docstring. `progress` gets a task counting rows."""
    device, segment = device_and_segment(model, segment)
    pad_id = card.pad_id
    outputs = Outputs.of(card)
    counter = Counter(progress, description, len(sequences))
    out = np.zeros((len(sequences), len(outputs.names)), dtype=np.float32)
    lengths = [len(tokens) for tokens in sequences]
    for batch in _batches(lengths, batch_size, segment, pad_id is not None):
        if lengths[batch[0]] > segment:
            read = _row_reader(sequences[batch[0]], device)
            raw = stream_classify(model, read, lengths[batch[0]], segment)
        else:
            ids = _padded([sequences[i] for i in batch], pad_id).to(device)
            # the mask of ClassificationTask.forward: the padding is not part of any row
            raw = model(ids, None if pad_id is None else ids != pad_id)
        out[batch] = outputs.transform(raw)
        counter.advance(len(batch))
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
    values = classify_sequences(
        model, card, [row.tokens for row in rows], batch_size, segment, progress, description
    )
    outputs = Outputs.of(card)
    return [
        RowPrediction(row.fields, row.label, outputs.predicted(v), v, row.where)
        for row, v in zip(rows, values, strict=True)
    ]
