"""Regenerate train.tsv, val.tsv and test.tsv: 1 kb windows and the GC content of the next 1 kb.

    python seqmodels/data/dna/bundled/gc_next/make.py

A numeric target the bundled genomes give without a lab's data (task.target=regression): each row
is an input window chrom,start,end of WINDOW bases of the bundled K. pneumoniae MGH 78578 genome
(one chromosome, five plasmids) and `gc_next`, the G+C fraction of the WINDOW bases that follow
it, which the model does not see. GC content drifts along a genome (genomic islands, plasmids), so
the window's own composition predicts the next window's only in part: k-mer counts of the window
(benchmarks/kmer_baseline.py) are the baseline to beat. Every record is split by region as the
pretraining and species tasks split it (first 80% train, next 10% val, last 10% test), and a
window and its next window lie in one split, so a model pretrained on the bundled genomes never
saw a val or test window or its target. Window pairs do not overlap; they are drawn with a fixed
seed from every record, in proportion to the record's pairs.
"""

from pathlib import Path

import numpy as np

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import encode
from seqmodels.data.dna.windows import split_regions

HERE = Path(__file__).parent
GENOME = HERE.parent / "bacteria5" / "klebsiella_pneumoniae.fa.gz"
ROWS = {"train": 600, "val": 100, "test": 150}
WINDOW = 1000
GC = encode("GC")
ACGT = encode("ACGT")


def gc_fraction(tokens: np.ndarray) -> float:
    """G+C over A+C+G+T (N left out)."""
    return float(np.isin(tokens, GC).sum() / max(np.isin(tokens, ACGT).sum(), 1))


def pairs(store: GenomeStore, split: str) -> list[tuple[str, int]]:
    """The start of every non-overlapping (window, next window) pair in the split's regions."""
    out = []
    for record in store.records:
        start, end = split_regions(record.length)[split]
        out += [(record.id, s) for s in range(start, end - 2 * WINDOW + 1, 2 * WINDOW)]
    return out


def main() -> None:
    store = GenomeStore.open(GENOME)
    rng = np.random.default_rng(0)
    for split, count in ROWS.items():
        pool = pairs(store, split)
        lines = ["chrom\tstart\tend\tgc_next\n"]
        for i in sorted(rng.choice(len(pool), count, replace=False)):
            chrom, start = pool[i]
            target = gc_fraction(store.window(chrom, start + WINDOW, start + 2 * WINDOW))
            lines.append(f"{chrom}\t{start}\t{start + WINDOW}\t{target:.4f}\n")
        (HERE / f"{split}.tsv").write_text("".join(lines))


if __name__ == "__main__":
    main()
