"""Labelled DNA sequences, read directly from the files labs already have.

    sequence table   TSV or CSV whose header names a `sequence` and a `label` column
    coordinates      TSV or CSV whose header names `chrom`, `start`, `end` and `label`, or BED:
                     chrom, start, end, label (the name column), [score, strand, ...]; both with
                     the genome FASTA the coordinates refer to, 0-based and half-open as in BED;
                     BED rows on the '-' strand are read as the reverse complement
    FASTA            headers ending in `|label` (the Nucleotide Transformer benchmark format)
    class folders    a folder with one subfolder per class, holding FASTA files or text files of
                     one sequence each (the Genomic Benchmarks layout)

The format follows the name: a folder; .bed; .csv (commas); .tsv, .tab or .txt (tabs); a FASTA
suffix (.fa, .fasta, .fna, ...); any of the files may be gzip- or bgzip-compressed. Every mistake
is a `UserError` naming the file and the line (or record) to fix.

`label_columns` names the column(s) that hold the label(s) of a table (default: `label`); in BED,
`name` (or `label`) is the 4th column and `score` the 5th. With one label column a sequence's
label is its text; with several, a tuple of texts in the order of `label_columns` (turning them
into numbers is the data module's job). FASTA and class folders have one label, the class.

For prediction (`require_labels=False`) labels are optional: a table without a `label` column, a
BED file of three columns or an empty label reads as label None. Every sequence also keeps the
fields of its input row as written (`fields`), so predictions can be written beside them.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from seqmodels.data.dna.fasta import read_fasta
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import InvalidBaseError, encode, reverse_complement
from seqmodels.errors import UserError

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas", ".ffn", ".seq")
SEQUENCE_FILES = (*FASTA_SUFFIXES, ".txt")  # what class folders hold
BED_SKIP = ("#", "track", "browser")  # BED header lines
BED_FIELDS = ("chrom", "start", "end", "name", "score", "strand", "thickStart", "thickEnd")
BED_FIELDS += ("itemRgb", "blockCount", "blockSizes", "blockStarts")  # BED12


@dataclass(frozen=True)
class LabelledSequence:
    tokens: np.ndarray  # (length,) uint8, see seqmodels.data.dna.tokens; may view a genome store
    label: str | tuple[str, ...] | None  # a str with one label column, else a tuple; None
    # only when read for prediction (require_labels=False) from a row without labels
    where: str  # "file, line N" (or record), for messages about this sequence
    fields: tuple[tuple[str, str], ...] = ()  # (column name, value) of the input row as written


def read_labelled(
    path: str | Path,
    genome: GenomeStore | None = None,
    label_columns: Sequence[str] = ("label",),
    *,
    require_labels: bool = True,
) -> list[LabelledSequence]:
    """Every labelled sequence of a file or class folder, in file order; see the module docstring.

    `genome` is the FASTA (as a store) that coordinate rows refer to; with `require_labels`
    False, rows without a label are read too (label None), for prediction.
    """
    label_columns = tuple(label_columns)
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"labelled data not found: {path}: check the path")
    if path.is_dir():
        _one_label(path, label_columns, "a class folder's label is its subfolder")
        return _read_folders(path)
    suffix = Path(path.name.lower().removesuffix(".gz")).suffix
    if suffix == ".bed":
        return _read_bed(path, genome, label_columns, require_labels)
    if suffix in TABLE_SUFFIXES:
        return _read_table(path, TABLE_SUFFIXES[suffix], genome, label_columns, require_labels)
    if suffix in FASTA_SUFFIXES:
        _one_label(path, label_columns, "a labelled FASTA's label ends its headers ('|label')")
        return _read_labelled_fasta(path)
    raise UserError(
        f"{path}: cannot tell the format from the name: use a .tsv/.csv table, a .bed file, "
        "a FASTA file (.fa) with '|label' headers, or a folder with one subfolder per class"
    )


def _open_text(path: Path) -> IO[str]:
    with path.open("rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    binary: IO[bytes] = gzip.open(path, "rb") if compressed else path.open("rb")
    # newline="" lets the csv module see quoted line breaks; undecodable bytes surface as bases
    return io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="")


def _encode(seq: str, where: str) -> np.ndarray:
    try:
        return encode(seq)
    except InvalidBaseError as error:
        hint = (
            "U is an RNA base: convert the sequence to DNA (U -> T)"
            if error.char in "Uu"
            else "use A, C, G, T, N or an IUPAC ambiguity code"
        )
        raise UserError(
            f"{where}: invalid base {error.char!r} at position {error.position + 1} of the "
            f"sequence: {hint}"
        ) from None


def _label(text: str, where: str, column: str = "label", required: bool = True) -> str | None:
    label = text.strip()
    if not label and not required:
        return None
    if not label:
        what = "its class" if column == "label" else f"a value in column {column!r}"
        raise UserError(f"{where}: empty label: every sequence needs {what}")
    return label


def _labels(
    row: Sequence[str],
    places: Sequence[int],
    names: Sequence[str],
    where: str,
    required: bool = True,
):
    """The label of a row: its text, or a tuple of texts with several label columns; None for
    a row without them when they are not required."""
    texts = tuple(
        _label(row[i], where, name, required) for i, name in zip(places, names, strict=True)
    )
    if any(text is None for text in texts):
        return None
    return texts[0] if len(texts) == 1 else texts


def _one_label(path: Path, label_columns: tuple[str, ...], why: str) -> None:
    if label_columns != ("label",):
        raise UserError(
            f"{path}: data.label_columns={list(label_columns)} needs a table or BED file: {why}"
        )


def _interval(
    genome: GenomeStore | None, chrom: str, start: str, end: str, where: str
) -> tuple[str, int, int]:
    """Checked (chrom, start, end) of a coordinate row, 0-based and half-open."""
    if genome is None:
        raise UserError(
            f"{where}: coordinates need the genome they refer to: add data.genome=ref.fa"
        )
    try:
        first, last = int(start), int(end)
    except ValueError:
        raise UserError(f"{where}: start {start!r} and end {end!r} must be whole numbers") from None
    if first < 0:
        raise UserError(f"{where}: start {first} is negative: coordinates are 0-based")
    if first >= last:
        raise UserError(
            f"{where}: start {first} >= end {last}: an interval is 0-based and half-open, "
            "so it needs start < end"
        )
    try:
        length = genome.record(chrom).length
    except KeyError:
        names = [record.id for record in genome.records]
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise UserError(
            f"{where}: chromosome {chrom!r} is not in {genome.path.name} (records: {shown}): "
            "use the genome's record ids"
        ) from None
    if last > length:
        raise UserError(
            f"{where}: end {last} is past the end of {chrom!r} ({length:,} bases in "
            f"{genome.path.name}): check the coordinates and the genome build"
        )
    return chrom, first, last


def _read_table(
    path: Path,
    delimiter: str,
    genome: GenomeStore | None,
    label_columns: tuple[str, ...],
    require_labels: bool = True,
) -> list[LabelledSequence]:
    with _open_text(path) as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        header = next((row for row in rows if row), None)
        if header is None:
            raise UserError(f"{path} is empty: expected a header line and labelled rows")
        header_line = rows.line_num
        columns = {name.strip().lower(): i for i, name in enumerate(header)}
        missing = [name for name in label_columns if name.strip().lower() not in columns]
        for name in missing if require_labels else ():
            shown = delimiter.join(header)[:60]
            hint = (
                "the first line names the columns, sequence,label or chrom,start,end,label"
                if name == "label"
                else "data.label_columns names columns of the header"
            )
            raise UserError(
                f"{path}, line {header_line}: no {name!r} column in the header ({shown!r}): {hint}"
            )
        # for prediction, a table without its label columns reads as unlabelled
        places = None if missing else [columns[name.strip().lower()] for name in label_columns]
        coordinates = {"chrom", "start", "end"} <= columns.keys()
        if "sequence" not in columns and not coordinates:
            raise UserError(
                f"{path}, line {header_line}: no 'sequence' column and no chrom, start, end "
                "columns in the header: name them sequence,label or chrom,start,end,label"
            )
        separator = "tabs" if delimiter == "\t" else "commas"
        out = []
        for row in rows:
            if not row:
                continue
            where = f"{path}, line {rows.line_num}"
            if len(row) != len(header):
                raise UserError(
                    f"{where}: {len(row)} fields, but the header has {len(header)}: every row "
                    f"needs the same columns, separated by {separator}"
                )
            label = None
            if places is not None:
                label = _labels(row, places, label_columns, where, require_labels)
            if "sequence" in columns:
                seq = row[columns["sequence"]].strip()
                if not seq:
                    raise UserError(f"{where}: empty sequence")
                tokens = _encode(seq, where)
            else:
                chrom, start, end = (row[columns[key]].strip() for key in ("chrom", "start", "end"))
                interval = _interval(genome, chrom, start, end, where)  # before genome.window
                tokens = genome.window(*interval)
            out.append(LabelledSequence(tokens, label, where, tuple(zip(header, row, strict=True))))
    if not out:
        raise UserError(f"{path}: a header but no rows: expected labelled sequences")
    return out


BED_COLUMNS = {"label": 3, "name": 3, "score": 4}  # label columns of BED, by position


def _read_bed(
    path: Path,
    genome: GenomeStore | None,
    label_columns: tuple[str, ...],
    require_labels: bool = True,
) -> list[LabelledSequence]:
    unknown = [name for name in label_columns if name.lower() not in BED_COLUMNS]
    if unknown:
        raise UserError(
            f"{path}: data.label_columns={list(label_columns)}: BED has no column {unknown[0]!r}:"
            " its label columns are name (4th) and score (5th)"
        )
    places = [BED_COLUMNS[name.lower()] for name in label_columns]
    out = []
    width = None
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith(BED_SKIP):
                continue
            where = f"{path}, line {number}"
            fields = line.split("\t")
            if len(fields) < (4 if require_labels else 3):
                raise UserError(
                    f"{where}: {len(fields)} tab-separated fields: a labelled BED row needs chrom, "
                    "start, end and the label (4th column, name)"
                )
            if require_labels and len(fields) <= max(places):
                raise UserError(
                    f"{where}: {len(fields)} tab-separated fields: no score (5th column) to read "
                    "as the label"
                )
            if width is not None and len(fields) != width:
                raise UserError(
                    f"{where}: {len(fields)} fields, but the rows before have {width}: every row "
                    "needs the same columns"
                )
            width = len(fields)
            label = None
            if width > max(places):
                label = _labels(fields, places, label_columns, where, require_labels)
            chrom, start, end = _interval(genome, *fields[:3], where)
            tokens = genome.window(chrom, start, end)
            if width >= 6 and fields[5].strip() == "-":
                tokens = reverse_complement(tokens)
            names = (*BED_FIELDS, *(f"field{i + 1}" for i in range(len(BED_FIELDS), width)))
            row = tuple(zip(names[:width], fields, strict=True))
            out.append(LabelledSequence(tokens, label, where, row))
    if not out:
        raise UserError(f"{path}: no BED rows: expected chrom, start, end, label lines")
    return out


def _read_labelled_fasta(path: Path) -> list[LabelledSequence]:
    out = []
    for record in read_fasta(path):
        where = f"{path}, record {record.id!r} (line {record.line})"
        title = f"{record.id} {record.description}".strip()
        if "|" not in title:
            raise UserError(
                f"{where}: no label: a labelled FASTA header ends in '|label' (>name|label)"
            )
        label = _label(title.rsplit("|", 1)[1], where)
        fields = (("record", record.id), ("label", label))
        out.append(LabelledSequence(record.tokens, label, where, fields))
    return out


def _sequence_files(folder: Path) -> Iterator[Path]:
    """The FASTA and text files of a class folder; others (an index, a README) are not data."""
    for path in sorted(folder.iterdir()):
        suffix = Path(path.name.lower().removesuffix(".gz")).suffix
        if path.is_file() and not path.name.startswith(".") and suffix in SEQUENCE_FILES:
            yield path


def _read_folders(root: Path) -> list[LabelledSequence]:
    classes = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    if not classes:
        raise UserError(
            f"{root}: a folder of labelled data holds one subfolder per class (e.g. "
            f"{root}/positive/, {root}/negative/), with FASTA or one-sequence text files"
        )
    out = []
    for folder in classes:
        before = len(out)
        for path in _sequence_files(folder):
            out += _read_class_file(path, folder.name, root)
        if len(out) == before:
            raise UserError(
                f"{folder}: class folder with no sequence files in it "
                f"({', '.join(SEQUENCE_FILES)}, optionally .gz)"
            )
    return out


def _read_class_file(path: Path, label: str, root: Path) -> list[LabelledSequence]:
    """A FASTA file (any number of records) or a text file of one sequence, all of class `label`;
    its fields name the file (relative to the folder `root`), the record and the class."""
    file = str(path.relative_to(root))
    with _open_text(path) as handle:
        lines = handle.read().splitlines()
    text = [line.strip() for line in lines]
    if text and next((line for line in text if line), "").startswith(">"):
        return [
            LabelledSequence(
                record.tokens,
                label,
                f"{path}, record {record.id!r}",
                (("file", file), ("record", record.id), ("class", label)),
            )
            for record in read_fasta(path)
        ]
    seq = "".join("".join(line.split()) for line in text)
    if not seq:
        raise UserError(f"{path} is empty: expected one sequence (or FASTA records)")
    try:
        tokens = encode(seq)
    except InvalidBaseError as error:
        ends = np.cumsum([len("".join(line.split())) for line in text])  # bases up to each line
        line = int(np.searchsorted(ends, error.position, side="right")) + 1
        raise UserError(
            f"{path}, line {line}: invalid base {error.char!r}: use A, C, G, T, N or an "
            "IUPAC ambiguity code"
        ) from None
    fields = (("file", file), ("record", ""), ("class", label))
    return [LabelledSequence(tokens, label, str(path), fields)]
