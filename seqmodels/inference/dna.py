"""Predicting genomes with a trained DNA model (a classifier, regressor or multi-label model;
seqmodels.inference.outputs says what each one's outputs are): every window, or every record
whole.

Two modes: sliding windows (a record's outputs are the mean of its windows'), or
`window="record"`: each record in one pass however long, read from the memory-mapped genome store
`segment` tokens at a time by the streaming reader (seqmodels.models.streaming), so memory depends
on the segment, not on the record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from rich.progress import Progress

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.windows import tile_record
from seqmodels.inference.outputs import Outputs
from seqmodels.inference.progress import Counter
from seqmodels.io.model_card import ModelCard
from seqmodels.models.streaming import device_and_segment, stream_classify, tensor_reader

RECORD = "record"  # window=record: each record whole, in one streaming pass


@dataclass
class RecordPrediction:
    record_id: str
    length: int
    windows: int
    predicted: str  # the text of Outputs.predicted: a class, the labels called, the values
    values: np.ndarray  # (outputs,): probabilities or a regressor's values, mean over windows

    @property
    def probabilities(self) -> np.ndarray:
        """`values` under the name they have for classifiers and multi-label models."""
        return self.values


@dataclass
class WindowPrediction:
    record_id: str
    start: int
    end: int
    values: np.ndarray  # (outputs,)

    @property
    def probabilities(self) -> np.ndarray:
        return self.values


def _batches(
    store: GenomeStore, window: int, stride: int, batch_size: int
) -> Iterator[tuple[list[tuple[int, int, int]], np.ndarray]]:
    """Batches of equal-length windows: ([(record, start, end), ...], tokens (batch, length))."""
    pending: list[tuple[int, int, int]] = []
    for record, info in enumerate(store.records):
        for start, end in tile_record(info.length, window, stride):
            if pending and (
                end - start != pending[0][2] - pending[0][1] or len(pending) == batch_size
            ):
                yield pending, np.stack([store.window(*p) for p in pending])
                pending = []
            pending.append((record, start, end))
    if pending:
        yield pending, np.stack([store.window(*p) for p in pending])


def count_rows(store: GenomeStore, window: int | str, stride: int | None = None) -> int:
    """How many embeddings windows (or whole records) a store is read as for this store."""
    if window == RECORD:
        return len(store.records)
    return sum(len(tile_record(r.length, window, stride or window)) for r in store.records)


def _record_reader(store: GenomeStore, record: int, device: torch.device):
    """Tokens start:end of one record as ids (1, end - start) on `device`: only that segment is
    copied out of the memory map."""

    def read(start: int, end: int) -> torch.Tensor:
        tokens = store.window(record, start, end).astype(np.int64)
        return torch.from_numpy(tokens)[None].to(device)

    return read


@torch.inference_mode()
def classify_records(
    model: torch.nn.Module,
    card: ModelCard,
    store: GenomeStore,
    segment: int | None = None,
    progress: Progress | None = None,
) -> tuple[list[RecordPrediction], list[WindowPrediction]]:
    """Whole-record predictions (window=record): each record in one streaming pass of `segment`
    tokens at a time (default: default_segment); the window list holds one window per record,
    the record itself."""
    device = next(model.parameters()).device
    outputs = Outputs.of(card)
    counter = Counter(progress, store.path.name, len(store))
    records: list[RecordPrediction] = []
    windows: list[WindowPrediction] = []
    done = 0
    for index, record in enumerate(store.records):

        def advance(fraction: float, done=done, length=record.length) -> None:
            counter.set(done + round(fraction * length))

        read = _record_reader(store, index, device)
        raw = stream_classify(model, read, record.length, segment, advance)
        values = outputs.transform(raw)[0]
        predicted = outputs.predicted(values)
        records.append(RecordPrediction(record.id, record.length, 1, predicted, values))
        windows.append(WindowPrediction(record.id, 0, record.length, values))
        done += record.length
    return records, windows


@torch.inference_mode()
def classify_store(
    model: torch.nn.Module,
    card: ModelCard,
    store: GenomeStore,
    window: int | str,
    stride: int | None = None,
    batch_size: int = 64,
    progress: Progress | None = None,
    segment: int | None = None,
) -> tuple[list[RecordPrediction], list[WindowPrediction]]:
    """Window and record predictions for every record of a genome store: windows of `window`
    tokens every `stride`, or with window="record" each record whole (classify_records). At most
    `segment` tokens (default: default_segment) go through the model at once (longer windows
    are streamed)."""
    if window == RECORD:
        return classify_records(model, card, store, segment, progress)
    stride = stride or window
    device, segment = device_and_segment(model, segment)
    pad_id = card.pad_id
    outputs = Outputs.of(card)
    counter = Counter(progress, store.path.name, count_rows(store, window, stride))
    windows: list[WindowPrediction] = []
    per_record: list[list[np.ndarray]] = [[] for _ in store.records]
    # A batch holds at most `segment` tokens, and a window longer than that is streamed on its
    # own: memory is set by the segment in this mode too, whatever the window.
    rows = max(1, min(batch_size, segment // window))
    for placed, tokens in _batches(store, window, stride, rows):
        ids = torch.from_numpy(tokens.astype(np.int64)).to(device)
        if ids.shape[1] > segment:
            raw = stream_classify(model, tensor_reader(ids), ids.shape[1], segment)
        else:
            raw = model(ids, None if pad_id is None else ids != pad_id)
        for (record, start, end), p in zip(placed, outputs.transform(raw), strict=True):
            windows.append(WindowPrediction(store.records[record].id, start, end, p))
            per_record[record].append(p)
        counter.advance(len(placed))
    records = []
    for record, values in zip(store.records, per_record, strict=True):
        mean = np.mean(values, axis=0)
        records.append(
            RecordPrediction(record.id, record.length, len(values), outputs.predicted(mean), mean)
        )
    return records, windows
