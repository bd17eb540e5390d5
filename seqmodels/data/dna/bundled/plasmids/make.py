"""Regenerate train.tsv, val.tsv and test.tsv: chromosome and plasmid windows of K. pneumoniae.

    python seqmodels/data/dna/bundled/plasmids/make.py

Windows of 300 to 1,000 bases, in chrom,start,end,label form, on the bundled K. pneumoniae
MGH 78578 genome (one chromosome, five plasmids). Every record is split by region as the
pretraining and species tasks split it (first 80% train, next 10% val, last 10% test), so a model
pretrained on the bundled genomes never saw a val or test window. Windows do not overlap; each
split holds the same number of windows per class, drawn with a fixed seed.
"""

from pathlib import Path

import numpy as np

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.windows import split_regions

HERE = Path(__file__).parent
GENOME = HERE.parent / "bacteria5" / "klebsiella_pneumoniae.fa.gz"
PER_CLASS = {"train": 300, "val": 40, "test": 40}
MIN_LEN, MAX_LEN = 300, 1000


def candidates(store: GenomeStore, label: str, split: str, rng: np.random.Generator) -> list:
    """Non-overlapping windows of random length tiling the split's region of every record."""
    out = []
    for record in store.records:
        if ("plasmid" in record.description) != (label == "plasmid"):
            continue
        start, end = split_regions(record.length)[split]
        position = start + int(rng.integers(0, MIN_LEN))
        while True:
            length = int(rng.integers(MIN_LEN, MAX_LEN + 1))
            if position + length > end:
                break
            out.append((record.id, position, position + length, label))
            position += length + int(rng.integers(0, MIN_LEN))
    return out


def main() -> None:
    store = GenomeStore.open(GENOME)
    rng = np.random.default_rng(0)
    for split, count in PER_CLASS.items():
        rows = []
        for label in ("chromosome", "plasmid"):
            pool = candidates(store, label, split, rng)
            rows += [pool[i] for i in sorted(rng.choice(len(pool), count, replace=False))]
        lines = ["chrom\tstart\tend\tlabel\n"] + ["\t".join(map(str, row)) + "\n" for row in rows]
        (HERE / f"{split}.tsv").write_text("".join(lines))


if __name__ == "__main__":
    main()
