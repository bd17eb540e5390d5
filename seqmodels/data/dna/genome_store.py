"""A FASTA file parsed once and kept on disk as one memory-mapped uint8 token array.

The cache is two files in the cache folder, named after the FASTA file and a hash of its
absolute path: `<name>-<hash>.tokens` (every record's tokens, back to back) and
`<name>-<hash>.json` (the records' ids, descriptions, offsets and lengths, plus the FASTA
file's size and modification time). A cache whose size or time no longer matches the file is
rebuilt. Both files are written under temporary names and renamed into place, the index last,
so a killed process never leaves a cache that a later run trusts.

The cache folder is `cache_dir`, else $SEQMODELS_CACHE, else ~/.cache/seqmodels/genomes; never
next to the FASTA file unless asked, since references often sit in read-only shared folders.

A window is a slice of the memory map: no copy, so a 2^20-token window costs nothing. A store
pickles without its mapping and maps the file again on first use, so it can go to DataLoader
workers.
"""

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from seqmodels.data.dna.fasta import check_fasta_path, read_fasta
from seqmodels.errors import UserError

_FORMAT = 1  # bump when the cache layout changes, so old caches are rebuilt


@dataclass(frozen=True)
class RecordInfo:
    """One FASTA record inside the store: its tokens are `tokens[offset : offset + length]`."""

    id: str
    description: str
    offset: int
    length: int


def default_cache_dir() -> Path:
    """$SEQMODELS_CACHE, else ~/.cache/seqmodels/genomes."""
    if env := os.environ.get("SEQMODELS_CACHE"):
        return Path(env).expanduser()
    return Path.home() / ".cache" / "seqmodels" / "genomes"


def _cache_files(fasta: Path, cache_dir: str | Path | None) -> tuple[Path, Path]:
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = hashlib.sha256(str(fasta).encode()).hexdigest()[:16]
    stem = f"{fasta.name}-{key}"
    return folder / f"{stem}.tokens", folder / f"{stem}.json"


def _source(fasta: Path) -> dict[str, object]:
    """What identifies a version of the FASTA file."""
    stat = fasta.stat()
    return {
        "format": _FORMAT,
        "path": str(fasta),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def _load_index(tokens_file: Path, index_file: Path, source: dict[str, object]) -> list[RecordInfo]:
    """The cached records if the cache matches this version of the file, else []."""
    try:
        index = json.loads(index_file.read_text())
        if index["source"] != source:
            return []
        records = [RecordInfo(**record) for record in index["records"]]
        if tokens_file.stat().st_size != sum(record.length for record in records):
            return []
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return records


def _build(fasta: Path, tokens_file: Path, index_file: Path, source: dict[str, object]) -> None:
    """Parse the FASTA file into the cache."""
    try:
        tokens_file.parent.mkdir(parents=True, exist_ok=True)
        _write(fasta, tokens_file, index_file, source)
    except OSError as error:
        raise UserError(
            f"cannot write the genome cache {tokens_file.parent} ({error.strerror}): "
            "set SEQMODELS_CACHE or data.cache_dir to a writable folder"
        ) from None


def _write(fasta: Path, tokens_file: Path, index_file: Path, source: dict[str, object]) -> None:
    """Write tokens one record at a time (memory stays one record), then rename into place."""
    records = []
    offset = 0
    tokens_tmp = tokens_file.with_name(f"{tokens_file.name}.{os.getpid()}.tmp")
    index_tmp = index_file.with_name(f"{index_file.name}.{os.getpid()}.tmp")
    try:
        with tokens_tmp.open("wb") as out:
            for record in read_fasta(fasta):
                out.write(record.tokens.data)
                records.append(
                    RecordInfo(record.id, record.description, offset, len(record.tokens))
                )
                offset += len(record.tokens)
        index_tmp.write_text(
            json.dumps({"source": source, "records": [asdict(r) for r in records]})
        )
        os.replace(tokens_tmp, tokens_file)
        os.replace(index_tmp, index_file)
    finally:
        tokens_tmp.unlink(missing_ok=True)
        index_tmp.unlink(missing_ok=True)


class GenomeStore:
    """The records of one FASTA file as a memory-mapped token array; see the module docstring."""

    def __init__(self, path: Path, tokens_file: Path, records: list[RecordInfo]) -> None:
        self.path = path
        self.tokens_file = tokens_file
        self.records = records
        self._ids = {record.id: i for i, record in enumerate(records)}
        self._length = sum(record.length for record in records)
        self._tokens: np.ndarray | None = None

    @classmethod
    def open(cls, path: str | Path, cache_dir: str | Path | None = None) -> "GenomeStore":
        """The store of a FASTA file, parsing it only if the cache is missing or stale."""
        fasta = check_fasta_path(path)
        tokens_file, index_file = _cache_files(fasta, cache_dir)
        source = _source(fasta)
        records = _load_index(tokens_file, index_file, source)
        if not records:
            _build(fasta, tokens_file, index_file, source)
            records = _load_index(tokens_file, index_file, source)
        return cls(fasta, tokens_file, records)

    @staticmethod
    def is_cached(path: str | Path, cache_dir: str | Path | None = None) -> bool:
        """Whether `open` would find a valid cache (and so would not parse the file)."""
        fasta = Path(path).expanduser().resolve()
        if not fasta.is_file():
            return False
        return bool(_load_index(*_cache_files(fasta, cache_dir), _source(fasta)))

    @property
    def tokens(self) -> np.ndarray:
        """All records' tokens back to back: a read-only memory map, (len(self),) uint8."""
        if self._tokens is None:
            self._tokens = np.memmap(self.tokens_file, dtype=np.uint8, mode="r", shape=(len(self),))
        return self._tokens

    def __len__(self) -> int:
        return self._length

    def record(self, key: int | str) -> RecordInfo:
        """A record by position or by id."""
        if isinstance(key, str):
            if key not in self._ids:
                raise KeyError(f"no record {key!r} in {self.path}")
            key = self._ids[key]
        return self.records[key]

    def window(self, record: int | str, start: int, end: int) -> np.ndarray:
        """Tokens `start:end` of a record: a view of the memory map, not a copy."""
        info = self.record(record)
        if not 0 <= start <= end <= info.length:
            raise IndexError(
                f"window {start}:{end} outside record {info.id!r} of length {info.length}"
            )
        return self.tokens[info.offset + start : info.offset + end]

    def __getstate__(self) -> dict[str, object]:
        # A mapped array would be pickled as its full contents; each process maps the file itself.
        return {**self.__dict__, "_tokens": None}
