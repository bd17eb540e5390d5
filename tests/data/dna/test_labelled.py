"""Labelled-sequence formats: each read from a tiny file, and each mistake a one-line error."""

import gzip
from pathlib import Path

import pytest

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.labelled import read_labelled
from seqmodels.data.dna.tokens import decode
from seqmodels.errors import UserError

GENOME = ">chr1 first\nACGTACGTAACCGGTT\n>chr2\nGGGGAAAA\n"


@pytest.fixture
def genome(tmp_path) -> GenomeStore:
    path = tmp_path / "ref.fa"
    path.write_text(GENOME)
    return GenomeStore.open(path, tmp_path / "cache")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read(path: Path, genome: GenomeStore | None = None) -> list[tuple[str, str]]:
    return [(decode(item.tokens), item.label) for item in read_labelled(path, genome)]


def test_sequence_tsv_and_csv(tmp_path):
    tsv = write(tmp_path / "a.tsv", "id\tsequence\tlabel\nx\tACGT\tpos\ny\tggnr\tneg\n\n")
    assert read(tsv) == [("ACGT", "pos"), ("GGNN", "neg")]
    csv = write(tmp_path / "a.csv", 'Label,Sequence\npos,ACGT\n"neg, maybe",TTT\n')
    assert read(csv) == [("ACGT", "pos"), ("TTT", "neg, maybe")]


def test_gzipped_table(tmp_path):
    path = tmp_path / "a.tsv.gz"
    path.write_bytes(gzip.compress(b"sequence\tlabel\nACGT\tpos\n"))
    assert read(path) == [("ACGT", "pos")]


def test_coordinate_table_is_zero_based_half_open(tmp_path, genome):
    path = write(tmp_path / "c.tsv", "chrom\tstart\tend\tlabel\nchr1\t0\t4\ta\nchr2\t4\t8\tb\n")
    assert read(path, genome) == [("ACGT", "a"), ("AAAA", "b")]


def test_bed_reads_minus_strand_rows_as_reverse_complement(tmp_path, genome):
    path = write(
        tmp_path / "r.bed",
        "track name=x\n# comment\nchr1\t8\t12\tup\t0\t+\nchr1\t8\t12\tdown\t0\t-\n",
    )
    assert read(path, genome) == [("AACC", "up"), ("GGTT", "down")]


def test_fasta_with_label_headers(tmp_path):
    path = write(tmp_path / "nt.fa", ">seq0|1\nACGT\n>seq1 some words|0\nGG\nTT\n")
    assert read(path) == [("ACGT", "1"), ("GGTT", "0")]


def test_class_folders_with_text_and_fasta_files(tmp_path):
    root = tmp_path / "train"
    (root / "positive").mkdir(parents=True)
    (root / "negative").mkdir()
    write(root / "positive" / "0.txt", "ACGT\nAC\n")
    write(root / "positive" / "README.md", "not data")
    write(root / "negative" / "many.fa", ">a\nTTTT\n>b\nGGGG\n")
    assert read(root) == [("TTTT", "negative"), ("GGGG", "negative"), ("ACGTAC", "positive")]


BAD = {
    "no-label-column": ("t.tsv", "sequence\tclass\nACGT\tpos\n", "line 1: no 'label' column"),
    "no-sequence-column": ("t.tsv", "name\tlabel\nx\tpos\n", "line 1: no 'sequence' column"),
    "empty-label": ("t.tsv", "sequence\tlabel\nACGT\tpos\nACGT\t \n", "line 3: empty label"),
    "field-count": ("t.tsv", "sequence\tlabel\nACGT\tpos\nACGT\tpos\textra\n", "line 3: 3 fields"),
    "bad-base": ("t.tsv", "sequence\tlabel\nACGT\tpos\nAC-T\tneg\n", "line 3: invalid base '-'"),
    "rna": ("t.csv", "sequence,label\nACGU,pos\n", "line 2: invalid base 'U'"),
    "chrom-not-in-genome": (
        "r.bed",
        "chr1\t0\t4\ta\nchrX\t0\t4\tb\n",
        "line 2: chromosome 'chrX' is not in ref.fa",
    ),
    "end-past-chrom-end": ("r.bed", "chr2\t4\t9\ta\n", "line 1: end 9 is past the end of 'chr2'"),
    "start-not-before-end": ("r.bed", "chr1\t5\t5\ta\n", "line 1: start 5 >= end 5"),
    "bed-no-label": ("r.bed", "chr1\t0\t4\n", "line 1: 3 tab-separated fields"),
    "bed-field-count": ("r.bed", "chr1\t0\t4\ta\nchr1\t0\t4\ta\t0\n", "line 2: 5 fields"),
    "coordinate-not-a-number": (
        "c.tsv",
        "chrom\tstart\tend\tlabel\nchr1\t1e3\t4\ta\n",
        "line 2: start '1e3'",
    ),
    "fasta-without-label": ("l.fa", ">a|x\nACGT\n>b\nACGT\n", "record 'b' (line 3): no label"),
    "fasta-empty-label": ("l.fa", ">a|\nACGT\n", "record 'a|' (line 1): empty label"),
    "unknown-format": ("data.xlsx", "whatever", "cannot tell the format"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_naming_file_and_line(tmp_path, genome, case):
    name, text, expected = BAD[case]
    path = write(tmp_path / name, text)
    with pytest.raises(UserError) as error:
        read_labelled(path, genome)
    message = str(error.value)
    assert str(path) in message and expected in message and "\n" not in message, message


def test_coordinates_without_a_genome(tmp_path):
    path = write(tmp_path / "r.bed", "chr1\t0\t4\ta\n")
    with pytest.raises(UserError, match=r"r.bed, line 1: coordinates need .* data.genome"):
        read_labelled(path)
    table = write(tmp_path / "c.tsv", "chrom\tstart\tend\tlabel\nchr1\t0\t4\ta\n")
    with pytest.raises(UserError, match=r"c.tsv, line 2: coordinates need .* data.genome"):
        read_labelled(table)


def test_bad_base_in_a_class_folder_file_names_its_line(tmp_path):
    (tmp_path / "pos").mkdir()
    path = write(tmp_path / "pos" / "1.txt", "ACGT\nACXT\n")
    with pytest.raises(UserError, match=rf"{path}, line 2: invalid base 'X'"):
        read_labelled(tmp_path)


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_labelled(tmp_path / "nope.tsv")
    with pytest.raises(UserError, match="one subfolder per class"):
        read_labelled(tmp_path)


def fields_and_labels(path: Path, genome: GenomeStore | None = None, require_labels=True):
    return [
        (item.fields, item.label)
        for item in read_labelled(path, genome, require_labels=require_labels)
    ]


def test_every_row_keeps_its_fields_as_written(tmp_path, genome):
    table = write(tmp_path / "t.csv", "ID,Sequence,Label\nx, ACGT ,pos\n")
    assert fields_and_labels(table) == [
        ((("ID", "x"), ("Sequence", " ACGT "), ("Label", "pos")), "pos")
    ]
    bed = write(tmp_path / "r.bed", "chr1\t0\t4\tup\t7\t-\n")
    row = (("chrom", "chr1"), ("start", "0"), ("end", "4"), ("name", "up"), ("score", "7"))
    assert fields_and_labels(bed, genome) == [((*row, ("strand", "-")), "up")]
    fasta = write(tmp_path / "nt.fa", ">seq0|1\nACGT\n>seq1 some words|0\nGG\n")
    assert [f for f, _ in fields_and_labels(fasta)] == [
        (("record", "seq0|1"), ("label", "1")),
        (("record", "seq1"), ("label", "0")),
    ]
    (tmp_path / "folders" / "neg").mkdir(parents=True)
    write(tmp_path / "folders" / "neg" / "a.fa", ">r1\nTT\n")
    write(tmp_path / "folders" / "neg" / "b.txt", "GG\n")
    assert [f for f, _ in fields_and_labels(tmp_path / "folders")] == [
        (("file", str(Path("neg", "a.fa"))), ("record", "r1"), ("class", "neg")),
        (("file", str(Path("neg", "b.txt"))), ("record", ""), ("class", "neg")),
    ]


def test_bed12_and_wider_rows_name_every_field(tmp_path, genome):
    bed = write(tmp_path / "r.bed", "chr1\t0\t4\tup\t0\t+\t0\t4\t0\t1\t4,\t0,\textra\n")
    names = [name for name, _ in read_labelled(bed, genome)[0].fields]
    assert names[9:] == ["blockCount", "blockSizes", "blockStarts", "field13"]


def test_rows_without_labels_read_for_prediction(tmp_path, genome):
    table = write(tmp_path / "t.tsv", "id\tsequence\nx\tACGT\n")
    assert fields_and_labels(table, require_labels=False) == [
        ((("id", "x"), ("sequence", "ACGT")), None)
    ]
    partly = write(tmp_path / "p.tsv", "sequence\tlabel\nACGT\tpos\nACGT\t\n")
    assert [label for _, label in fields_and_labels(partly, require_labels=False)] == ["pos", None]
    bed = write(tmp_path / "r.bed", "chr1\t0\t4\nchr2\t0\t4\n")
    items = read_labelled(bed, genome, require_labels=False)
    assert [(decode(i.tokens), i.label) for i in items] == [("ACGT", None), ("GGGG", None)]
    assert items[0].fields == (("chrom", "chr1"), ("start", "0"), ("end", "4"))
    with pytest.raises(UserError, match="line 1: 3 tab-separated fields"):
        read_labelled(bed, genome)  # training still needs the labels


def test_a_bed_row_needs_coordinates_even_for_prediction(tmp_path, genome):
    bed = write(tmp_path / "r.bed", "chr1\t0\n")
    with pytest.raises(UserError, match="line 1: 2 tab-separated fields"):
        read_labelled(bed, genome, require_labels=False)
