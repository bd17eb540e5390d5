"""Embeddings of genomes: the pooled backbone output of every window, or of every record whole.

What a classifier pools before its linear layer, and for a language model the same pooling of
its backbone's final hidden states (after the final norm): one d_model vector per window of
`window` bases every `stride` (the windows of seqmodels.data.dna.windows.tile_record, as
predict uses), or with window="record" one per record however long, read from the memory-mapped
genome store `segment` tokens at a time (seqmodels.models.streaming.stream_pool), so memory is
set by the segment. Windows longer than a segment are streamed the same way.

One strand only: a classifier's test-time reverse-complement averaging belongs to its logits,
not to its features (an rc_equivariant backbone reads both strands by construction).
Embeddings come in batches (`iter_embeddings`) so that a caller can write them as they come.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from rich.progress import Progress

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.errors import UserError
from seqmodels.inference.dna import RECORD, _batches, _record_reader, count_rows
from seqmodels.inference.progress import Counter
from seqmodels.models.backbones.rc_equivariant import RCEquivariantBackbone
from seqmodels.models.heads import POOLINGS, pool
from seqmodels.models.streaming import device_and_segment, stream_pool, tensor_reader


@dataclass(frozen=True)
class EmbeddingRow:
    """Where an embedding comes from: bases start:end (0-based, end exclusive) of a record."""

    file: str
    record: str
    start: int
    end: int


def check_pooling(model: torch.nn.Module, pooling: str) -> None:
    if pooling not in POOLINGS:
        raise UserError(f"pooling={pooling!r}: choose one of {', '.join(POOLINGS)}")
    if isinstance(model.backbone, RCEquivariantBackbone) and pooling != "mean":
        # its last position is the reverse complement's first: only the mean is strand-blind
        raise UserError("pooling=last: an rc_equivariant model is embedded with pooling=mean")


@torch.inference_mode()
def iter_embeddings(
    model: torch.nn.Module,
    store: GenomeStore,
    window: int | str,
    stride: int | None = None,
    pooling: str = "mean",
    batch_size: int = 64,
    segment: int | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[list[EmbeddingRow], np.ndarray]]:
    """Batches of (rows, float32 embeddings (len(rows), d_model)), in file order."""
    check_pooling(model, pooling)
    backbone = model.backbone
    device, segment = device_and_segment(model, segment)
    counter = Counter(progress, store.path.name, count_rows(store, window, stride))
    name = store.path.name
    if window == RECORD:
        for index, record in enumerate(store.records):
            read = _record_reader(store, index, device)
            pooled = stream_pool(backbone, read, record.length, pooling, segment)
            yield [EmbeddingRow(name, record.id, 0, record.length)], pooled.float().cpu().numpy()
            counter.advance()
        return
    stride = stride or window
    # at most `segment` tokens through the model at once, as in classify_store
    rows = max(1, min(batch_size, segment // window))
    for placed, tokens in _batches(store, window, stride, rows):
        ids = torch.from_numpy(tokens.astype(np.int64)).to(device)
        if ids.shape[1] > segment:
            pooled = stream_pool(backbone, tensor_reader(ids), ids.shape[1], pooling, segment)
        else:  # genome windows hold no padding: no mask
            pooled = pool(backbone.encode(ids, None), None, pooling)
        where = [EmbeddingRow(name, store.records[r].id, s, e) for r, s, e in placed]
        yield where, pooled.float().cpu().numpy()
        counter.advance(len(placed))


def embed_store(*args: Any, **kwargs: Any) -> tuple[np.ndarray, list[EmbeddingRow]]:
    """Every embedding of a store at once: float32 (n, d_model) and the n rows. Takes the
    arguments of `iter_embeddings` (model, store, window, then its options)."""
    rows: list[EmbeddingRow] = []
    parts: list[np.ndarray] = []
    for where, batch in iter_embeddings(*args, **kwargs):
        rows += where
        parts.append(batch)
    return np.concatenate(parts), rows
