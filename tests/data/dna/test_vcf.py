"""The VCF reader: real-world layout quirks read, everything malformed refused with its line."""

import gzip
from pathlib import Path

import pytest
from Bio import bgzf

from seqmodels.data.dna.vcf import SkippedAllele, Variant, read_vcf
from seqmodels.errors import UserError

EXAMPLE = Path(__file__).parents[2] / "fixtures" / "ecoli_example.vcf"
HEADER = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def test_the_example_file():
    variants, skipped = read_vcf(EXAMPLE)
    chrom = "K-12-MG1655"
    assert variants[0] == Variant(6, chrom, 1000, "snv1", "T", ("C",))
    assert variants[1] == Variant(7, chrom, 2000, ".", "C", ("A", "G"))  # multi-allelic, '.' ID
    assert variants[2].ref == "CTG" and variants[3].alts == ("AGGT",)  # an indel each way
    assert variants[4] == Variant(11, chrom, 4000, ".", "T", ("G",))  # lowercase read as upper
    assert [v.line for v in variants] == [6, 7, 8, 9, 11, 12]  # line 10: <DEL> only
    assert skipped == [SkippedAllele(10, "<DEL>"), SkippedAllele(11, "*")]


def test_crlf_gzip_and_bgzip_read_the_same(tmp_path):
    expected = read_vcf(EXAMPLE)
    text = EXAMPLE.read_text()
    crlf = tmp_path / "crlf.vcf"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    gz = tmp_path / "plain.vcf.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    bgz = tmp_path / "blocks.vcf.gz"
    with bgzf.BgzfWriter(str(bgz), "wb") as out:
        out.write(text.encode())
    for path in (crlf, gz, bgz):
        assert read_vcf(path) == expected, path


def test_breakends_and_missing_alt_are_skipped(tmp_path):
    path = tmp_path / "sv.vcf"
    path.write_text(HEADER + "c\t5\t.\tG\tG]c:10],<INS>,.\t.\t.\t.\nc\t6\t.\tA\t.\t.\t.\t.\n")
    assert read_vcf(path) == (
        [],
        [
            SkippedAllele(2, "G]c:10]"),
            SkippedAllele(2, "<INS>"),
            SkippedAllele(2, "."),
            SkippedAllele(3, "."),
        ],
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("c\t1\t.\tA\tC\n", "line 1: a data row before the #CHROM header line"),
        ("##fileformat=VCFv4.2\n", "no #CHROM header line"),
        ("#CHROM POS ID REF ALT\n", "line 1: the header line must start with #CHROM POS ID"),
        (HEADER + "c 1 . A C . . .\n", "line 2: 1 column(s), the header has 8"),
        (HEADER + "c\t1\t.\tA\tC\t.\t.\n", "line 2: 7 column(s), the header has 8"),
        (HEADER + "c\tone\t.\tA\tC\t.\t.\t.\n", "line 2: POS 'one' is not a whole number"),
        (HEADER + "c\t0\t.\tA\tC\t.\t.\t.\n", "line 2: POS '0' is not a whole number >= 1"),
        (HEADER + "c\t1\t.\tAR\tC\t.\t.\t.\n", "line 2: REF 'AR' is not bases"),
        (HEADER + "c\t1\t.\t.\tC\t.\t.\t.\n", "line 2: REF '.' is not bases"),
        (HEADER + "\n" + "c\t1\t.\tA\tC1\t.\t.\t.\n", "line 3: ALT allele 'C1' is neither"),
        (HEADER + "\t1\t.\tA\tC\t.\t.\t.\n", "line 2: empty CHROM"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "bad.vcf"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        read_vcf(path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(UserError, match="VCF file not found"):
        read_vcf(tmp_path / "missing.vcf")
    (tmp_path / "empty.vcf").write_text("")
    with pytest.raises(UserError, match="is empty"):
        read_vcf(tmp_path / "empty.vcf")
    (tmp_path / "x.bcf").write_bytes(gzip.compress(b"BCF\x02\x02\0\0\0"))
    with pytest.raises(UserError, match="is BCF"):
        read_vcf(tmp_path / "x.bcf")
    (tmp_path / "latin1.vcf").write_bytes(
        (HEADER + "c\t1\tcaf\xe9\tA\tC\t.\t.\t.\n").encode("latin-1")
    )
    with pytest.raises(UserError, match="line 2: not UTF-8"):
        read_vcf(tmp_path / "latin1.vcf")
    whole = gzip.compress(EXAMPLE.read_bytes())
    (tmp_path / "cut.vcf.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserError, match="truncated or corrupt"):
        read_vcf(tmp_path / "cut.vcf.gz")
