"""Classify every window and every record of FASTA files with a trained DNA classifier.

Two modes: sliding windows (`window=N stride=M`; a record's probabilities are the mean of its
windows'), or `window=record`: each record in one pass however long, read from the memory-mapped
genome store `segment` tokens at a time by the streaming reader (seqmodels.models.streaming), so
memory depends on the segment, not on the record (a 5 Mb chromosome included).

For each input file, writes <out>/<name>.records.tsv (record id, length, windows, predicted
class, one probability column per class) and <out>/<name>.windows.bed (one line per window; one
per record with window=record), then prints a summary table. Files are written under a temporary
name and renamed when complete, so a killed run never leaves a partial table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from seqmodels.data.genome_store import GenomeStore
from seqmodels.data.windows import tile_record
from seqmodels.errors import UserError
from seqmodels.models.streaming import default_segment, stream_classify, tensor_reader
from seqmodels.tasks.export import load_pretrained
from seqmodels.tasks.runs import latest_run
from seqmodels.tasks.safe_files import atomic_write

PREDICT_OPTIONS = ("ckpt", "out", "window", "stride", "batch_size", "segment", "cache_dir")
RECORD = "record"  # window=record: each record whole, in one streaming pass
FASTA_SUFFIX = re.compile(r"(\.(fa|fasta|fna|ffn|fas|seq|txt))?(\.(gz|bgz|bgzf))?$", re.I)


@dataclass
class RecordPrediction:
    record_id: str
    length: int
    windows: int
    predicted: str
    probabilities: np.ndarray  # (classes,), mean over the record's windows


@dataclass
class WindowPrediction:
    record_id: str
    start: int
    end: int
    probabilities: np.ndarray  # (classes,)


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
    info: dict[str, Any],
    store: GenomeStore,
    segment: int | None = None,
    progress: Progress | None = None,
) -> tuple[list[RecordPrediction], list[WindowPrediction]]:
    """Whole-record predictions (window=record): each record in one streaming pass of `segment`
    tokens at a time (default: default_segment); the window list holds one window per record,
    the record itself."""
    device = next(model.parameters()).device
    names = info["class_names"]
    task = None
    if progress is not None:
        task = progress.add_task(store.path.name, total=len(store))
    records: list[RecordPrediction] = []
    windows: list[WindowPrediction] = []
    done = 0
    for index, record in enumerate(store.records):

        def advance(fraction: float, done=done, length=record.length) -> None:
            if task is not None:
                progress.update(task, completed=done + round(fraction * length))

        read = _record_reader(store, index, device)
        logits = stream_classify(model, read, record.length, segment, advance)
        probs = logits.float().softmax(-1)[0].cpu().numpy()
        records.append(RecordPrediction(record.id, record.length, 1, names[probs.argmax()], probs))
        windows.append(WindowPrediction(record.id, 0, record.length, probs))
        done += record.length
    return records, windows


@torch.inference_mode()
def classify_store(
    model: torch.nn.Module,
    info: dict[str, Any],
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
        return classify_records(model, info, store, segment, progress)
    stride = stride or window
    device = next(model.parameters()).device
    segment = default_segment(device) if segment is None else segment
    pad_id = info.get("pad_id")
    task = None
    if progress is not None:
        total = sum(len(tile_record(r.length, window, stride)) for r in store.records)
        task = progress.add_task(store.path.name, total=total)
    windows: list[WindowPrediction] = []
    per_record: list[list[np.ndarray]] = [[] for _ in store.records]
    # A batch holds at most `segment` tokens, and a window longer than that is streamed on its
    # own: memory is set by the segment in this mode too, whatever the window.
    rows = max(1, min(batch_size, segment // window))
    for placed, tokens in _batches(store, window, stride, rows):
        ids = torch.from_numpy(tokens.astype(np.int64)).to(device)
        if ids.shape[1] > segment:
            logits = stream_classify(model, tensor_reader(ids), ids.shape[1], segment)
        else:
            logits = model(ids, None if pad_id is None else ids != pad_id)
        probs = logits.float().softmax(-1).cpu().numpy()
        for (record, start, end), p in zip(placed, probs, strict=True):
            windows.append(WindowPrediction(store.records[record].id, start, end, p))
            per_record[record].append(p)
        if task is not None:
            progress.advance(task, len(placed))
    names = info["class_names"]
    records = []
    for record, probs in zip(store.records, per_record, strict=True):
        mean = np.mean(probs, axis=0)
        records.append(
            RecordPrediction(record.id, record.length, len(probs), names[mean.argmax()], mean)
        )
    return records, windows


def write_predictions(
    out: Path,
    name: str,
    class_names: list[str],
    records: list[RecordPrediction],
    windows: list[WindowPrediction],
) -> tuple[Path, Path]:
    """<out>/<name>.records.tsv and <out>/<name>.windows.bed (BED6 + one column per class)."""
    out.mkdir(parents=True, exist_ok=True)
    header = ["record", "length", "windows", "predicted", *(f"p_{c}" for c in class_names)]
    rows = ["\t".join(header) + "\n"]
    for r in records:
        probs = "\t".join(f"{p:.6f}" for p in r.probabilities)
        rows.append(f"{r.record_id}\t{r.length}\t{r.windows}\t{r.predicted}\t{probs}\n")
    bed = ["#chrom\tstart\tend\tpredicted\tscore\tstrand\t" + "\t".join(class_names) + "\n"]
    for w in windows:
        best = int(w.probabilities.argmax())
        score = round(1000 * float(w.probabilities[best]))
        probs = "\t".join(f"{p:.6f}" for p in w.probabilities)
        bed.append(f"{w.record_id}\t{w.start}\t{w.end}\t{class_names[best]}\t{score}\t.\t{probs}\n")
    tsv_path, bed_path = out / f"{name}.records.tsv", out / f"{name}.windows.bed"
    atomic_write(tsv_path, lambda tmp: tmp.write_text("".join(rows)))
    atomic_write(bed_path, lambda tmp: tmp.write_text("".join(bed)))
    return tsv_path, bed_path


def positive_int(name: str, value: str | int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise UserError(f"{name}={value!r}: expected a whole number >= 1")
    return number


def predict_command(
    files: list[str],
    ckpt: str | None = None,
    out: str = "predictions",
    window: str | int | None = None,
    stride: str | int | None = None,
    batch_size: str | int = 64,
    segment: str | int | None = None,
    cache_dir: str | None = None,
) -> list[Path]:
    """`seqmodels predict`: classify FASTA files, write tables, print a summary."""
    model, info = load_pretrained(ckpt or latest_run("runs", "dna_species"))
    if info["kind"] != "classifier" or info.get("alphabet") != "dna":
        raise UserError(f"{ckpt}: not a DNA classifier (kind {info['kind']!r})")
    if window == RECORD:
        if stride is not None:
            raise UserError("stride= has no meaning with window=record (one pass per record)")
        segment = None if segment is None else positive_int("segment", segment)
    else:
        if segment is not None:
            raise UserError("segment= goes with window=record; windows are read whole")
        try:
            window = positive_int("window", window or info["seq_len"])
        except UserError:
            raise UserError(
                f"window={window!r}: expected a whole number >= 1, or record (each record whole)"
            ) from None
        stride = positive_int("stride", stride or window)
        if stride > window:
            raise UserError(
                f"stride={stride} is larger than window={window}: bases would be skipped"
            )
        title = f"predictions (window {window}, stride {stride})"
    batch_size = positive_int("batch_size", batch_size)
    stores = [GenomeStore.open(path, cache_dir) for path in files]  # check every file first
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    if window == RECORD:
        segment = segment or default_segment(device)
        title = f"predictions (whole records, read in segments of {segment:,} bases)"
    console = Console()
    table = Table(title=title)
    for column in ("file", "record", "length", "windows", "predicted", "probability"):
        numeric = column in ("length", "windows", "probability")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column != "file")
    written = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        for store in stores:
            records, windows = classify_store(
                model, info, store, window, stride, batch_size, progress, segment
            )
            name = FASTA_SUFFIX.sub("", store.path.name) or store.path.name
            written += write_predictions(Path(out), name, info["class_names"], records, windows)
            for r in records:
                best = float(r.probabilities.max())
                table.add_row(
                    store.path.name,
                    r.record_id,
                    f"{r.length:,}",
                    str(r.windows),
                    r.predicted,
                    f"{best:.3f}",
                )
    console.print(table)
    console.print("wrote " + ", ".join(str(p) for p in written))
    return written
