"""A strict reader of the VCF 4.x columns that variant scoring needs: CHROM, POS, ID, REF, ALT.

Why not a library: pysam and cyvcf2 are native builds on htslib; vcfpy (pure Python) parses the
whole record, header definitions, INFO and genotypes included, for five columns that are plain
text, and its errors would still have to be turned into ours. Reading the columns takes a page,
and every mistake below can name its line.

Read: `##` meta lines (skipped), then the `#CHROM` header (tab-separated, starting CHROM POS ID
REF ALT), then one row per line with as many columns as the header (QUAL, FILTER, INFO and the
sample columns are counted, not read). Plain text, gzip or bgzip (a series of gzip members,
which Python's gzip reader handles), recognised by the first bytes; LF or CRLF line ends; blank
lines skipped. REF and ALT alleles are bases (A, C, G, T, N, either case; returned uppercase);
a `.` ID stays `.`; a multi-allelic ALT (`A,T`) gives one allele each.

Skipped with a note, not refused: symbolic alleles (`<DEL>`, `<*>`, ...), the spanning-deletion
allele `*`, breakends (`G]chr2:10]`) and a missing ALT (`.`), which have no bases to put in the
reference's place; a row whose every allele is skipped yields no variant. A real file mixes them
with scorable rows (callers write `*` next to real alleles), so refusing them would refuse most
files. Anything else malformed is a `UserError` naming the file and line.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from seqmodels.errors import UserError

HEADER = ("#CHROM", "POS", "ID", "REF", "ALT")
_BASES = re.compile(r"[ACGTN]+")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Variant:
    """One VCF row: `pos` is 1-based as in the file; `alts` the alleles that can be scored."""

    line: int
    chrom: str
    pos: int
    id: str
    ref: str
    alts: tuple[str, ...]


@dataclass(frozen=True)
class SkippedAllele:
    line: int
    allele: str


def _is_symbolic(allele: str) -> bool:
    return (
        allele in ("*", ".")
        or (allele.startswith("<") and allele.endswith(">"))
        or "[" in allele
        or "]" in allele
    )


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as raw:
        magic = raw.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else path.open("rb")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end) of every line; bad bytes are named by line."""
    number = 0
    try:
        with _open(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(b"BCF"):
                    raise UserError(
                        f"{path} is BCF (binary VCF): convert it with `bcftools view -Oz`"
                    )
                try:
                    yield number, raw.rstrip(b"\r\n").decode("utf-8")
                except UnicodeDecodeError:
                    raise UserError(
                        f"{path}, line {number}: not UTF-8 text: is this a VCF file?"
                    ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise UserError(f"{path}: truncated or corrupt after line {number}: re-create it") from None


def _check_path(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "not found"
        raise UserError(f"VCF file {what}: {path}: give the path of a .vcf or .vcf.gz file")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty: expected a VCF file")
    return path


def read_vcf(path: str | Path) -> tuple[list[Variant], list[SkippedAllele]]:
    """Every scorable variant of a VCF file, and the alleles skipped (see the module docstring)."""
    path = _check_path(path)
    variants: list[Variant] = []
    skipped: list[SkippedAllele] = []
    columns = 0
    for number, text in _lines(path):
        where = f"{path}, line {number}"
        if not text.strip() or text.startswith("##"):
            continue
        if text.startswith("#"):
            fields = text.split("\t")
            if tuple(fields[:5]) != HEADER:
                raise UserError(
                    f"{where}: the header line must start with {' '.join(HEADER)}, separated "
                    f"by tabs; found {text[:60]!r}"
                )
            columns = len(fields)
            continue
        if not columns:
            raise UserError(f"{where}: a data row before the #CHROM header line")
        fields = text.split("\t")
        if len(fields) != columns:
            raise UserError(
                f"{where}: {len(fields)} column(s), the header has {columns} "
                "(columns are separated by tabs)"
            )
        chrom, pos, ident, ref, alt = fields[:5]
        if not chrom:
            raise UserError(f"{where}: empty CHROM")
        if not pos.isdigit() or int(pos) < 1:
            raise UserError(f"{where}: POS {pos!r} is not a whole number >= 1")
        ref = ref.upper()
        if not _BASES.fullmatch(ref):
            raise UserError(f"{where}: REF {fields[3]!r} is not bases (A, C, G, T, N)")
        alts = []
        for allele in alt.split(","):
            if _is_symbolic(allele):
                skipped.append(SkippedAllele(number, allele))
            elif _BASES.fullmatch(allele.upper()):
                alts.append(allele.upper())
            else:
                raise UserError(
                    f"{where}: ALT allele {allele!r} is neither bases (A, C, G, T, N) nor a "
                    "symbolic allele (<DEL>, *)"
                )
        if alts:
            variants.append(Variant(number, chrom, int(pos), ident, ref, tuple(alts)))
    if not columns:
        raise UserError(f"{path}: no #CHROM header line: not a VCF file")
    return variants, skipped
