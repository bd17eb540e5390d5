"""Reading FASTA files: plain, gzip and bgzip agree; each bad input is a one-line UserError."""

import gzip
import shutil
from pathlib import Path

import pytest

from seqmodels.data.dna.fasta import read_fasta
from seqmodels.data.dna.tokens import decode
from seqmodels.errors import UserError

FIXTURES = Path(__file__).parents[2] / "fixtures"
TINY = [FIXTURES / name for name in ("tiny.fa", "tiny.fa.gz", "tiny.fa.bgz")]


def read(path):
    return [(r.id, r.description, decode(r.tokens)) for r in read_fasta(path)]


def fasta_error(path) -> str:
    with pytest.raises(UserError) as error:
        list(read_fasta(path))
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_tiny_fixture_content():
    assert read(TINY[0]) == [
        ("chr1", "first test record, soft-masked", "ACGTACGTACGTACGTNNNNACG"),
        ("chr2", "", "GGGGCCCCAAAATTTT"),
        ("plasmid_3", "a small plasmid", "ACGTNNNNAC"),
    ]


@pytest.mark.parametrize("path", TINY, ids=lambda path: path.name)
def test_plain_gzip_and_bgzip_read_the_same(path, tmp_path):
    assert read(path) == read(TINY[0])
    # Compression is recognised by content, not by the file name.
    misnamed = tmp_path / "misnamed.txt"
    shutil.copy(path, misnamed)
    assert read(misnamed) == read(TINY[0])


def test_windows_line_endings_and_blank_lines(tmp_path):
    path = tmp_path / "crlf.fa"
    path.write_bytes(
        b"\r\n>chr1 first test record, soft-masked\r\nACGTACGTAC\r\nGTacgtnnRY\r\n\r\nACG\r\n"
    )
    assert read(path) == read(TINY[0])[:1]


def test_missing_file(tmp_path):
    assert "not found" in fasta_error(tmp_path / "nope.fa")


def test_directory(tmp_path):
    assert "is a directory" in fasta_error(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.fa"
    path.touch()
    assert "is empty" in fasta_error(path)


def test_empty_gzip_and_whitespace_only(tmp_path):
    gz = tmp_path / "empty.fa.gz"
    gz.write_bytes(gzip.compress(b""))
    assert "is empty" in fasta_error(gz)
    blank = tmp_path / "blank.fa"
    blank.write_text("\n  \n")
    assert "is empty" in fasta_error(blank)


def test_binary_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(range(256)) * 4)
    assert "binary" in fasta_error(path)


def test_other_compression(tmp_path):
    path = tmp_path / "genome.fa.bz2"
    path.write_bytes(b"BZh91AY&SY" + bytes(100))
    assert "bzip2" in fasta_error(path)


def test_text_before_the_first_header(tmp_path):
    path = tmp_path / "noheader.fa"
    path.write_text("\nACGT\n>chr1\nACGT\n")
    message = fasta_error(path)
    assert "line 2" in message and "'>'" in message


def test_empty_record(tmp_path):
    path = tmp_path / "empty_record.fa"
    path.write_text(">chr1\nACGT\n>chr2 nothing here\n>chr3\nAC\n")
    message = fasta_error(path)
    assert "'chr2'" in message and "line 3" in message and "no sequence" in message


def test_empty_last_record(tmp_path):
    path = tmp_path / "empty_last.fa"
    path.write_text(">chr1\nACGT\n>chr2\n")
    assert "'chr2' (line 3)" in fasta_error(path)


@pytest.mark.parametrize(
    ("body", "char", "line"),
    [
        ("ACGT\nACXT\n", "'X'", 5),
        ("ACGT\nAC-T\n", "'-'", 5),
        ("AC GT\nAC\tT\n", "'\\t'", 5),  # spaces are dropped (as Biopython does), tabs are not
        ("ACGT\nACGT\nACGU\n", "'U'", 6),
        ("ACGTé\n", "'é'", 4),
    ],
    ids=["letter", "gap", "tab", "rna", "non-ascii"],
)
def test_invalid_base_names_char_record_and_line(tmp_path, body, char, line):
    path = tmp_path / "bad.fa"
    path.write_text(f">chr1\nACGT\n>chr2 second\n{body}")
    message = fasta_error(path)
    assert "record 'chr2' (line 3)" in message
    assert f"invalid base {char} on line {line}" in message


def test_rna_base_gets_a_hint(tmp_path):
    path = tmp_path / "rna.fa"
    path.write_text(">chr1\nACGU\n")
    assert "convert the sequence to DNA" in fasta_error(path)


def test_invalid_base_line_in_gzip(tmp_path):
    path = tmp_path / "bad.fa.gz"
    path.write_bytes(gzip.compress(b">chr1\nACGT\nAC\nGGJ\n"))
    assert "invalid base 'J' on line 4" in fasta_error(path)


def test_non_utf8_byte_is_an_invalid_base(tmp_path):
    path = tmp_path / "latin1.fa"
    path.write_bytes(b">chr1\nACGT\nAC\xe9T\n")
    assert "on line 3" in fasta_error(path)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(b">chr1\n" + b"ACGT" * 50_000 + b"\n")
    path = tmp_path / "truncated.fa.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt: re-download it" in fasta_error(path)


def test_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(b">chr1\n" + b"ACGT" * 1000 + b"\n"))
    data[20:40] = bytes(20)
    path = tmp_path / "corrupt.fa.gz"
    path.write_bytes(bytes(data))
    assert "truncated or corrupt" in fasta_error(path)


def test_duplicate_record_ids(tmp_path):
    path = tmp_path / "dup.fa"
    path.write_text(">chr1 a\nACGT\n>chr2\nAC\n>chr1 b\nGG\n")
    message = fasta_error(path)
    assert "duplicate record id" in message and "line 5" in message and "line 1" in message


def test_header_without_id(tmp_path):
    path = tmp_path / "noid.fa"
    path.write_text(">chr1\nACGT\n>\nAC\n")
    assert "line 3" in fasta_error(path)
