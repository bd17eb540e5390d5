"""`seqmodels score-variants`: the effect of every ALT allele of VCF files on a trained model.

For each VCF, writes <out>/<vcf name>.scores.tsv: chrom, pos, id, ref, alt, the reference
window (window_start, window_end: 0-based, end exclusive) and, for a classifier, one column
delta_<class> per class (the change of its probability, ALT minus REF, averaged over both
strands), or for a DNA language model llr (log P(alt window) - log P(ref window)); how the
windows are placed, indels included, is in seqmodels.inference.variants.

Every row is checked against the genome before anything is scored, and the table is written
under a temporary name and renamed when complete: a bad row (a REF that is not the genome's, a
chromosome the genome lacks, a malformed line) ends the command in one line naming it, with
no partial table left.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import torch
from rich.console import Console

from seqmodels.commands.embed import dna_model, output_names, window_option
from seqmodels.commands.options import PositiveInt
from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.vcf import read_vcf
from seqmodels.errors import UserError
from seqmodels.inference.dna import RECORD
from seqmodels.inference.variants import check_variants, score_variants
from seqmodels.io.atomic import atomic_write
from seqmodels.io.model_card import ModelCard

VCF_SUFFIX = re.compile(r"\.vcf(\.(gz|bgz))?$", re.I)


# What this command reads of a model's description, in one place.
def _kind(card: ModelCard) -> str:
    return card.kind


def _class_names(card: ModelCard) -> list[str]:
    return list(card.class_names or [])


def _pad_id(card: ModelCard) -> int | None:
    return card.pad_id


def score_variants_command(
    files: list[str],
    genome: Path | None = None,
    ckpt: Path | None = None,
    window: PositiveInt | Literal["record"] | None = None,
    out: Path = Path("variant_scores"),
    batch_size: PositiveInt = 64,
    segment: PositiveInt | None = None,
    cache_dir: Path | None = None,
    token_map: str | None = None,
    run_root: Path = Path("runs"),
) -> list[Path]:
    """`seqmodels score-variants VCF... genome=FASTA`: write <out>/<vcf name>.scores.tsv."""
    if not files:
        raise UserError(
            "score-variants needs a VCF file: seqmodels score-variants variants.vcf genome=ref.fa"
        )
    if not genome:
        raise UserError("score-variants needs genome=FASTA: the reference the VCF is called on")
    model, info, ckpt = dna_model(ckpt, token_map, "score-variants", run_root)
    kind = _kind(info)
    if kind not in ("classifier", "lm"):
        raise UserError(f"{ckpt}: a {kind} model cannot score variants")
    window = window_option(window, info, ckpt)
    if window == RECORD:
        raise UserError("window=record: variants are scored in windows; give window=N")
    names = output_names([Path(path) for path in files], VCF_SUFFIX, "score-variants")
    store = GenomeStore.open(genome, cache_dir)
    tables = []
    for path in files:  # every file read and checked before anything is scored
        variants, skipped = read_vcf(path)
        check_variants(variants, store, window, path)
        tables.append((Path(path), variants, skipped))
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "classifier":
        columns = [f"delta_{name}" for name in _class_names(info)]
    else:
        columns = ["llr"]
    header = ["chrom", "pos", "id", "ref", "alt", "window_start", "window_end", *columns]
    out_dir = Path(out).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    console = Console()
    written = []
    for (path, variants, skipped), name in zip(tables, names, strict=True):
        scores = score_variants(
            model, kind, store, variants, window, _pad_id(info), batch_size, segment
        )

        def write(tmp: Path, scores=scores) -> None:
            with tmp.open("w") as table:
                table.write("\t".join(header) + "\n")
                for s in scores:
                    v = s.variant
                    values = "\t".join(f"{x:.6g}" for x in s.scores)
                    table.write(
                        f"{v.chrom}\t{v.pos}\t{v.id}\t{v.ref}\t{s.alt}\t{s.start}\t{s.end}\t"
                        f"{values}\n"
                    )

        target = out_dir / f"{name}.scores.tsv"
        atomic_write(target, write)
        written.append(target)
        alleles = sum(len(v.alts) for v in variants)
        console.print(f"{path.name}: {alleles} alleles scored in windows of {window} bases")
        if skipped:
            lines = ", ".join(str(s.line) for s in skipped[:5]) + (
                ", ..." if len(skipped) > 5 else ""
            )
            console.print(
                f"  skipped {len(skipped)} symbolic or missing ALT allele(s) (<DEL>, *, "
                f"breakends, .: no bases to substitute), lines {lines}"
            )
    console.print("wrote " + ", ".join(str(p) for p in written))
    return written
