"""Predict every window and every record of FASTA files with a trained DNA model (a classifier,
regressor or multi-label model); tables, BED files, labelled FASTA (labelled=true) and class
folders go to predict_table.py.

Two modes: sliding windows (`window=N stride=M`; a record's outputs are the mean of its
windows'), or `window=record`: each record in one pass however long, read from the memory-mapped
genome store `segment` tokens at a time by the streaming reader (seqmodels.models.streaming), so
memory depends on the segment, not on the record (a 5 Mb chromosome included).

For each input file, writes <out>/<name>.records.tsv (record id, length, windows, then the
prediction's columns: `predicted` and `p_<class>` per class; for a multi-label model `predicted`,
the labels called, and `p_<label>`; for a regressor its values, `predicted` with one target,
`predicted_<name>` per target with several; see seqmodels.inference.outputs) and
<out>/<name>.windows.bed (one line per window, one per record with window=record: the predicted
text as the name, a 0-1000 score from the top probability, 0 for a regressor, then one column
per class, label or target), then prints a summary table. Files are written under a temporary
name and renamed when complete, so a killed run never leaves a partial table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

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

from seqmodels.commands.options import PositiveInt
from seqmodels.commands.predict_table import is_table, predict_tables
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.errors import UserError
from seqmodels.inference.dna import RECORD, RecordPrediction, WindowPrediction, classify_store
from seqmodels.inference.outputs import Outputs, require_predictable
from seqmodels.io.atomic import atomic_write
from seqmodels.io.tables import print_table
from seqmodels.models.pretrained import load_pretrained
from seqmodels.models.streaming import default_segment
from seqmodels.training.runs import latest_run

FASTA_SUFFIX = re.compile(r"(\.(fa|fasta|fna|ffn|fas|seq|txt))?(\.(gz|bgz|bgzf))?$", re.I)


def write_predictions(
    out: Path,
    name: str,
    outputs: Outputs,
    records: list[RecordPrediction],
    windows: list[WindowPrediction],
) -> tuple[Path, Path]:
    """<out>/<name>.records.tsv and <out>/<name>.windows.bed (BED6 + one column per output)."""
    out.mkdir(parents=True, exist_ok=True)
    header = ["record", "length", "windows", *outputs.columns]
    rows = ["\t".join(header) + "\n"]
    for r in records:
        cells = [r.record_id, str(r.length), str(r.windows), *outputs.cells(r.values)]
        rows.append("\t".join(cells) + "\n")
    head = ["#chrom", "start", "end", "predicted", "score", "strand", *outputs.names]
    bed = ["\t".join(head) + "\n"]
    for w in windows:
        text, score = outputs.predicted(w.values), outputs.bed_score(w.values)
        cells = [w.record_id, str(w.start), str(w.end), text, str(score), "."]
        bed.append("\t".join([*cells, *outputs.bed_cells(w.values)]) + "\n")
    tsv_path, bed_path = out / f"{name}.records.tsv", out / f"{name}.windows.bed"
    atomic_write(tsv_path, lambda tmp: tmp.write_text("".join(rows)))
    atomic_write(bed_path, lambda tmp: tmp.write_text("".join(bed)))
    return tsv_path, bed_path


def predict_command(
    files: list[str],
    ckpt: Path | None = None,
    out: Path = Path("predictions"),
    window: PositiveInt | Literal["record"] | None = None,
    stride: PositiveInt | None = None,
    batch_size: PositiveInt = 64,
    segment: PositiveInt | None = None,
    cache_dir: Path | None = None,
    run_root: Path = Path("runs"),
    genome: Path | None = None,
    labelled: bool | None = None,
) -> list[Path]:
    """`seqmodels predict`: predict FASTA files, write tables, print a summary. Without ckpt,
    the newest dna_species run under run_root; window: the model's length by default, or
    "record" for each record whole. Labelled-data files (tables, BED with genome=, labelled
    FASTA with labelled=true, class folders) are predicted row by row (predict_table.py)."""
    tables = [is_table(file, labelled) for file in files]
    if any(tables):
        if not all(tables):
            genomes = [file for file, table in zip(files, tables, strict=True) if not table]
            raise UserError(
                f"{genomes[0]} is a genome FASTA and {files[tables.index(True)]} a table of "
                "rows: predict them in separate commands (labelled=true reads a FASTA file of "
                "'>name|label' records as rows)"
            )
        if window is not None or stride is not None:
            raise UserError(
                "window= and stride= go with genome FASTA files: every row of a table is "
                "predicted whole"
            )
        return predict_tables(
            files, ckpt, out, batch_size, segment, genome, labelled, cache_dir, run_root
        )
    if genome is not None:
        raise UserError(
            "genome= goes with coordinates (a BED file, a chrom,start,end table): a FASTA "
            "file given to predict is itself the genome to classify"
        )
    model, card = load_pretrained(ckpt or latest_run(run_root, "dna_species"))
    require_predictable(card, "predicting FASTA files")
    outputs = Outputs.of(card)
    if window == RECORD:
        if stride is not None:
            raise UserError("stride= has no meaning with window=record (one pass per record)")
    else:
        if segment is not None:
            raise UserError("segment= goes with window=record; windows are read whole")
        window = window or card.seq_len
        if window is None:
            raise UserError(f"{card.source}: no training length recorded: give window=N")
        stride = stride or window
        if stride > window:
            raise UserError(
                f"stride={stride} is larger than window={window}: bases would be skipped"
            )
        title = f"predictions (window {window}, stride {stride})"
    stores = [GenomeStore.open(path, cache_dir) for path in files]  # check every file first
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    if window == RECORD:
        segment = segment or default_segment(device)
        title = f"predictions (whole records, read in segments of {segment:,} bases)"
    console = Console()
    table = Table(title=title)
    headers = ["file", "record", "length", "windows", "predicted"]
    headers += ["probability"] if outputs.probabilities else []  # a regressor's are values
    for column in headers:
        numeric = column in ("length", "windows", "probability")
        table.add_column(column, justify="right" if numeric else "left")
    written = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        for store in stores:
            records, windows = classify_store(
                model, card, store, window, stride, batch_size, progress, segment
            )
            name = FASTA_SUFFIX.sub("", store.path.name) or store.path.name
            written += write_predictions(Path(out), name, outputs, records, windows)
            for r in records:
                top = outputs.top(r.values)
                table.add_row(
                    store.path.name,
                    r.record_id,
                    f"{r.length:,}",
                    str(r.windows),
                    r.predicted,
                    *([] if top is None else [f"{top:.3f}"]),
                )
    print_table(table, console)
    console.print("wrote " + ", ".join(str(p) for p in written))
    return written
