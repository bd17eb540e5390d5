"""Variant effects: each ALT allele of a VCF row scored against the reference by a trained model.

Windows. A row's REF allele covers reference bases p … p+r (0-based p = POS - 1, r = len(REF)).
The reference window is `window` bases (the whole record if it is shorter) placed so that the
REF allele sits in its middle, at offset window // 2 for a SNV: start = p + r // 2 - window // 2,
moved inside the record when the variant is near an end. The ALT window is the same genomic
span with the allele substituted: reference[start:p] + ALT + reference[p+r:end], so both windows
share their flanks base for base and an indel's ALT window is longer or shorter than the
reference one by len(ALT) - len(REF) (VCF's leading padding base of an indel is part of both
alleles and so stays in place).

Scores.
- A classifier: the change of every class probability, ALT minus REF, averaged over both
  strands: ((P(alt) - P(ref)) + (P(rc alt) - P(rc ref))) / 2, P = softmax of the model's logits
  in eval mode (a model that averages strands itself gives the same for both terms).
- A language model: the log-likelihood ratio log P(alt window) - log P(ref window), each the sum
  over the window's bases after the first of log p(base | the bases before it), normalised over
  the alphabet's tokens without padding. The first base is conditioned on nothing and not
  scored (it is the same base in both windows unless the variant starts the window).

Windows go through the model in batches of equal length, `chunk` rows at a time, so memory is
set by the chunk and the window; a window longer than `segment` tokens is streamed
(seqmodels.models.streaming, and the language model's carried state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.tokens import decode, encode, reverse_complement
from seqmodels.data.dna.vcf import Variant
from seqmodels.errors import UserError
from seqmodels.models.heads import LanguageModel
from seqmodels.models.streaming import default_segment, stream_classify, tensor_reader

CHUNK = 256  # VCF rows whose windows are built and scored together


@dataclass(frozen=True)
class VariantScore:
    variant: Variant
    alt: str
    start: int  # the reference window on the record, 0-based, end exclusive
    end: int
    scores: np.ndarray  # classifier: (classes,) probability deltas; language model: (1,) LLR


def reference_window(length: int, p: int, r: int, window: int) -> tuple[int, int]:
    """The (start, end) of the reference window of a REF allele at p … p+r (module docstring)."""
    size = min(window, length)
    start = min(max(p + r // 2 - size // 2, 0), length - size)
    return start, start + size


def _chr_hint(chrom: str, names: set[str]) -> str:
    other = chrom.removeprefix("chr") if chrom.startswith("chr") else f"chr{chrom}"
    if other in names:
        prefix = "without" if chrom.startswith("chr") else "with"
        return f"; the genome has {other!r}: a 'chr'-prefix mismatch (it names them {prefix} 'chr')"
    return ""


def check_variants(
    variants: list[Variant], store: GenomeStore, window: int, vcf: Path | str
) -> None:
    """Every row against the genome before anything is scored: its chromosome, its REF."""
    names = {record.id for record in store.records}
    for v in variants:
        where = f"{vcf}, line {v.line}"
        if v.chrom not in names:
            shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
            raise UserError(
                f"{where}: chromosome {v.chrom!r} is not in {store.path.name} (its records: "
                f"{shown}){_chr_hint(v.chrom, names)}"
            )
        length, p, r = store.record(v.chrom).length, v.pos - 1, len(v.ref)
        if p + r > length:
            raise UserError(
                f"{where}: REF at {v.chrom}:{v.pos} runs past the end of {v.chrom} "
                f"({length:,} bases): is the VCF for another reference build?"
            )
        if r > window:
            raise UserError(
                f"{where}: REF of {r} bases is longer than window={window}: give a larger window"
            )
        genome = store.window(v.chrom, p, p + r)
        if not np.array_equal(genome, encode(v.ref)):
            shown = decode(genome[:20]) + ("..." if r > 20 else "")
            raise UserError(
                f"{where}: REF {v.ref[:20]!r} does not match the genome at {v.chrom}:{v.pos} "
                f"({shown!r}): is the VCF for another reference build?"
            )


def _batched(
    sequences: list[np.ndarray], run: Callable[[Tensor], Tensor], rows: Callable[[int], int]
) -> list[Tensor]:
    """run(ids) over the sequences in batches of equal length; one result per sequence."""
    results: list[Tensor | None] = [None] * len(sequences)
    by_length: dict[int, list[int]] = {}
    for i, seq in enumerate(sequences):
        by_length.setdefault(len(seq), []).append(i)
    for length, members in by_length.items():
        size = rows(length)
        for k in range(0, len(members), size):
            part = members[k : k + size]
            ids = torch.from_numpy(np.stack([sequences[i] for i in part]).astype(np.int64))
            for i, out in zip(part, run(ids), strict=True):
                results[i] = out
    return results


def _lm_log_likelihood(
    model: LanguageModel, ids: Tensor, pad_id: int | None, segment: int
) -> Tensor:
    """Σ_t≥1 log p(ids[t] | ids[:t]) per row, (batch,) fp64; `segment` tokens at a time."""
    state = None
    if ids.shape[1] > segment:
        weight = next(model.parameters())
        state = model.backbone.allocate_inference_cache(ids.shape[0], weight.device, weight.dtype)
    total = torch.zeros(ids.shape[0], dtype=torch.float64, device=ids.device)
    previous: Tensor | None = None  # log-probabilities after the last token of the last segment
    for start in range(0, ids.shape[1], segment):
        part = ids[:, start : start + segment]
        logits, state = model(part, state)
        logits = logits.double()
        if pad_id is not None:
            logits[..., pad_id] = float("-inf")  # padding is not a base a window can hold
        logp = logits.log_softmax(-1)
        if previous is not None:
            total += previous.gather(-1, part[:, :1]).squeeze(-1)
        total += logp[:, :-1].gather(-1, part[:, 1:, None]).squeeze(-1).sum(-1)
        previous = logp[:, -1]
    return total


@torch.inference_mode()
def score_variants(
    model: torch.nn.Module,
    kind: str,
    store: GenomeStore,
    variants: list[Variant],
    window: int,
    pad_id: int | None = None,
    batch_size: int = 64,
    segment: int | None = None,
    chunk: int = CHUNK,
) -> Iterator[VariantScore]:
    """One score per (row, ALT allele), in file order; `kind` is "classifier" or "lm".
    Rows are assumed checked (check_variants)."""
    device = next(model.parameters()).device
    segment = default_segment(device) if segment is None else segment

    def rows(length: int) -> int:
        return max(1, min(batch_size, segment // length))

    if kind == "classifier":

        def run(ids: Tensor) -> Tensor:
            ids = ids.to(device)
            if ids.shape[1] > segment:
                logits = stream_classify(model, tensor_reader(ids), ids.shape[1], segment)
            else:
                logits = model(ids, None)
            return logits.double().softmax(-1).cpu()
    elif kind == "lm":

        def run(ids: Tensor) -> Tensor:
            return _lm_log_likelihood(model, ids.to(device), pad_id, segment).cpu()[:, None]
    else:
        raise UserError(f"cannot score variants with a model of kind {kind!r}")

    for first in range(0, len(variants), chunk):
        part = variants[first : first + chunk]
        sequences: list[np.ndarray] = []
        placed = []  # (variant, alt, start, end, index of the ref sequence, of the alt)
        for v in part:
            record = store.record(v.chrom)
            p, r = v.pos - 1, len(v.ref)
            start, end = reference_window(record.length, p, r, window)
            ref = np.asarray(store.window(v.chrom, start, end))
            ref_at = len(sequences)
            sequences.append(ref)
            for alt in v.alts:
                alt_at = len(sequences)
                sequences.append(
                    np.concatenate([ref[: p - start], encode(alt), ref[p + r - start :]])
                )
                placed.append((v, alt, start, end, ref_at, alt_at))
        if kind == "classifier":  # both strands
            sequences += [reverse_complement(seq) for seq in sequences]
        outputs = _batched(sequences, run, rows)
        half = len(sequences) // 2
        for v, alt, start, end, ref_at, alt_at in placed:
            if kind == "classifier":
                forward = outputs[alt_at] - outputs[ref_at]
                reverse = outputs[half + alt_at] - outputs[half + ref_at]
                scores = ((forward + reverse) / 2).numpy()
            else:
                scores = (outputs[alt_at] - outputs[ref_at]).numpy()
            yield VariantScore(v, alt, start, end, scores)
