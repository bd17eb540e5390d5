"""The genome store: an on-disk token cache that is reused, invalidated, atomic and picklable."""

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from seqmodels.data.dna import genome_store
from seqmodels.data.dna.genome_store import GenomeStore, RecordInfo
from seqmodels.data.dna.tokens import decode
from seqmodels.errors import UserError

TINY = Path(__file__).parents[2] / "fixtures" / "tiny.fa.gz"


@pytest.fixture
def fasta(tmp_path) -> Path:
    """A writable copy of the tiny fixture, so tests can change it."""
    path = tmp_path / "genome" / "tiny.fa.gz"
    path.parent.mkdir()
    shutil.copy(TINY, path)
    return path


@pytest.fixture
def parses(monkeypatch) -> list[Path]:
    """The files the store parsed, in order."""
    calls = []
    real = genome_store.read_fasta

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(genome_store, "read_fasta", counting)
    return calls


def test_records_and_windows(fasta, tmp_path):
    store = GenomeStore.open(fasta, cache_dir=tmp_path / "cache")
    assert store.path == fasta.resolve()
    assert store.records == [
        RecordInfo("chr1", "first test record, soft-masked", 0, 23),
        RecordInfo("chr2", "", 23, 16),
        RecordInfo("plasmid_3", "a small plasmid", 39, 10),
    ]
    assert len(store) == 49
    assert store.record("chr2") == store.record(1)
    assert decode(store.window(0, 0, 23)) == "ACGTACGTACGTACGTNNNNACG"
    assert decode(store.window("chr2", 4, 8)) == "CCCC"
    assert decode(store.window(2, 8, 10)) == "AC"
    assert store.window(1, 5, 5).shape == (0,)
    with pytest.raises(IndexError):
        store.window(1, 0, 17)
    with pytest.raises(KeyError):
        store.record("chr9")


def test_window_is_a_zero_copy_view(fasta, tmp_path):
    store = GenomeStore.open(fasta, cache_dir=tmp_path / "cache")
    window = store.window(0, 3, 20)
    assert np.shares_memory(window, store.tokens)
    assert isinstance(store.tokens, np.memmap)
    assert not window.flags.writeable


def test_cache_location(fasta, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "env_cache"))
    store = GenomeStore.open(fasta)
    assert store.tokens_file.parent == tmp_path / "env_cache"
    explicit = GenomeStore.open(fasta, cache_dir=tmp_path / "explicit")
    assert explicit.tokens_file.parent == tmp_path / "explicit"
    assert sorted(os.listdir(fasta.parent)) == ["tiny.fa.gz"]  # nothing next to the FASTA file
    monkeypatch.delenv("SEQMODELS_CACHE")
    assert genome_store.default_cache_dir() == Path.home() / ".cache" / "seqmodels" / "genomes"


def test_cache_is_reused(fasta, tmp_path, parses):
    cache = tmp_path / "cache"
    assert not GenomeStore.is_cached(fasta, cache)
    first = GenomeStore.open(fasta, cache)
    assert GenomeStore.is_cached(fasta, cache)
    second = GenomeStore.open(fasta, cache)
    assert parses == [fasta.resolve()]
    assert second.records == first.records
    assert sorted(path.suffix for path in cache.iterdir()) == [".json", ".tokens"]


def test_changed_file_is_parsed_again(fasta, tmp_path, parses):
    cache = tmp_path / "cache"
    GenomeStore.open(fasta, cache)
    fasta.write_text(">only\nGATTACA\n")  # plain text now, under a .gz name: detected by content
    stat = fasta.stat()
    os.utime(fasta, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not GenomeStore.is_cached(fasta, cache)
    store = GenomeStore.open(fasta, cache)
    assert len(parses) == 2
    assert [record.id for record in store.records] == ["only"]
    assert decode(store.window(0, 0, 7)) == "GATTACA"
    assert len(list(cache.iterdir())) == 2  # replaced, not accumulated


def test_touched_file_is_parsed_again(fasta, tmp_path, parses):
    cache = tmp_path / "cache"
    GenomeStore.open(fasta, cache)
    stat = fasta.stat()
    os.utime(fasta, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    GenomeStore.open(fasta, cache)
    assert len(parses) == 2


def test_half_written_cache_is_not_trusted(fasta, tmp_path, parses):
    cache = tmp_path / "cache"
    store = GenomeStore.open(fasta, cache)
    # A process killed while writing leaves a temporary file and, at worst, a short token file.
    Path(f"{store.tokens_file}.123.tmp").write_bytes(b"\1\2")
    store.tokens_file.write_bytes(b"\1\2")
    reopened = GenomeStore.open(fasta, cache)
    assert len(parses) == 2
    assert decode(reopened.window(0, 0, 4)) == "ACGT"


def test_failed_parse_leaves_no_cache(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">chr1\nACGT\n>chr2\nACXT\n")
    cache = tmp_path / "cache"
    with pytest.raises(UserError, match="invalid base 'X'"):
        GenomeStore.open(bad, cache)
    assert list(cache.iterdir()) == []


def test_missing_fasta_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        GenomeStore.open(tmp_path / "nope.fa", tmp_path / "cache")


def test_unwritable_cache_is_a_user_error(fasta, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="cannot write the genome cache"):
        GenomeStore.open(fasta, cache_dir=blocker / "cache")


def test_pickled_store_reads_the_same_windows(fasta, tmp_path):
    store = GenomeStore.open(fasta, cache_dir=tmp_path / "cache")
    expected = np.array(store.window(0, 2, 21))  # maps the file in this process
    data = pickle.dumps(store)
    assert len(data) < 1000  # the mapped tokens do not travel
    copy = pickle.loads(data)
    assert copy._tokens is None  # mapped again lazily, on first use
    np.testing.assert_array_equal(copy.window(0, 2, 21), expected)
    assert copy.records == store.records
