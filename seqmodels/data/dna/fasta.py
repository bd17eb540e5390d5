"""Read FASTA files (plain, gzip or bgzip) into token records, with one-line errors for bad input.

Compression is recognised by the file's first bytes, not its name; bgzip is a series of gzip
members, which Python's gzip reader handles. Biopython's `SimpleFastaParser` does the parsing;
this module adds what a user needs when a file is wrong: each problem is a `UserError` naming
the file, and where it applies the record and the line.
"""

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

from seqmodels.data.dna.tokens import InvalidBaseError, encode
from seqmodels.errors import UserError

_GZIP_MAGIC = b"\x1f\x8b"
_OTHER_COMPRESSIONS = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}
_HEAD_BYTES = 1 << 16  # enough to tell text from binary data


@dataclass(frozen=True)
class FastaRecord:
    """One record: `id` is the header's first word, `description` the rest of it (maybe ""),
    `line` the header's line number (for messages about the record)."""

    id: str
    description: str
    tokens: np.ndarray  # (length,) uint8, see seqmodels.data.dna.tokens
    line: int


def check_fasta_path(path: str | Path) -> Path:
    """The absolute path of an existing, readable, non-empty file; else a `UserError` says why."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"FASTA file not found: {path}: check the path")
    if path.is_dir():
        raise UserError(
            f"{path} is a directory, not a FASTA file: give the path of a .fa/.fa.gz file"
        )
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    if size == 0:
        raise UserError(f"{path} is empty: expected a FASTA file")
    return path.resolve()


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """The records of a FASTA file, in order; the file is checked now, each record as it is read."""
    path = check_fasta_path(path)
    _check_content(path)
    return _records(path)


def _open_text(path: Path) -> IO[str]:
    """The decompressed text; undecodable bytes become U+FFFD so they surface as invalid bases."""
    with path.open("rb") as raw:
        magic = raw.read(8)
    binary: IO[bytes] = gzip.open(path, "rb") if magic.startswith(_GZIP_MAGIC) else path.open("rb")
    return io.TextIOWrapper(binary, encoding="utf-8", errors="replace")


def _corrupt(path: Path) -> UserError:
    return UserError(f"{path}: file is truncated or corrupt: re-download it")


def _check_content(path: Path) -> None:
    """Refuse other compressions, binary data and files with nothing but whitespace."""
    with path.open("rb") as raw:
        magic = raw.read(8)
    for prefix, name in _OTHER_COMPRESSIONS.items():
        if magic.startswith(prefix):
            raise UserError(
                f"{path} is {name}-compressed: decompress it, or recompress it with gzip"
            )
    try:
        with _open_text(path) as text:
            head = text.buffer.read(_HEAD_BYTES)
    except (EOFError, OSError, zlib.error):
        raise _corrupt(path) from None
    if b"\0" in head:
        raise UserError(f"{path} is binary, not a text FASTA file: check that it is the right file")
    if not head.strip():
        raise UserError(f"{path} is empty: expected a FASTA file")


class _HeaderLines:
    """Feeds lines to Biopython while noting each header's line number (Biopython gives none).

    An iterator, not an iterable: the parser loops over it twice and the count must carry on.
    """

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self.handle = handle
        self.line = 0
        self.numbers: list[int] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.line += 1
        if line.startswith(">"):
            self.numbers.append(self.line)
        elif not self.numbers and line.strip():
            # Biopython would skip this text silently; it usually means a wrong file.
            raise UserError(
                f"{self.path}, line {self.line}: text before the first '>' header line: "
                "a FASTA file starts with a '>' header"
            )
        return line


def _records(path: Path) -> Iterator[FastaRecord]:
    header_lines: dict[str, int] = {}
    try:
        with _open_text(path) as handle:
            lines = _HeaderLines(path, handle)
            for index, (title, seq) in enumerate(SimpleFastaParser(lines)):
                line = lines.numbers[index]
                words = title.split(maxsplit=1)
                record_id = words[0] if words else ""
                description = words[1] if len(words) > 1 else ""
                where = f"{path}, record '{record_id}' (line {line})"
                if not record_id:
                    raise UserError(
                        f"{path}, line {line}: header has no record id: name the record"
                    )
                if record_id in header_lines:
                    raise UserError(
                        f"{where}: duplicate record id, first used on line "
                        f"{header_lines[record_id]}: record ids must be unique"
                    )
                header_lines[record_id] = line
                if not seq:
                    raise UserError(
                        f"{where}: header with no sequence: add it or remove the record"
                    )
                try:
                    tokens = encode(seq)
                except InvalidBaseError as error:
                    raise _invalid_base(path, where, line, error) from None
                yield FastaRecord(record_id, description, tokens, line)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise _corrupt(path) from None


def _invalid_base(path: Path, where: str, header_line: int, error: InvalidBaseError) -> UserError:
    line = _base_line(path, header_line, error.position)
    hint = (
        "U is an RNA base: convert the sequence to DNA (U -> T)"
        if error.char in "Uu"
        else "use A, C, G, T, N or an IUPAC ambiguity code"
    )
    return UserError(f"{where}: invalid base {error.char!r} on line {line}: {hint}")


def _base_line(path: Path, header_line: int, position: int) -> int:
    """The line of the `position`-th base after a header, found by reading the file again.

    Only called on error, so the normal path pays nothing for line numbers. Lines are cleaned
    exactly as `SimpleFastaParser` cleans them, so positions agree.
    """
    seen = 0
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if number > header_line:
                seen += len(line.rstrip().replace(" ", "").replace("\r", ""))
                if seen > position:
                    return number
    raise AssertionError(f"base {position} after line {header_line} of {path} not found")
