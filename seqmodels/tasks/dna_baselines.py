"""The order-k Markov baseline to read a DNA language model's bits per base against.

A Markov model of order k predicts each base from the k before it. It is fitted on the training
regions (both strands when the model trains on both), k = 0..MAX_ORDER is chosen by its bits on
the validation windows, and it scores exactly the validation and test windows the language model
scores, the same targets (windows[:, 1:], every token but PAD, which the model's loss ignores;
N is a fifth symbol, as for the model, whose loss counts it), each predicted from the tokens
before it in its window only: near a window's start the context is what the window holds.

Smoothing: interpolated Witten-Bell,

    P_k(x | c) = (C(c, x) + T(c) · P_{k-1}(x | c')) / (C(c) + T(c)),   P_{-1}(x) = 1 / 5,

where c' is c without its oldest base, C counts the training positions, and T(c) is the number
of distinct symbols seen after c (an unseen context, C(c) = 0, backs off to P_{k-1}). It has no
parameter to tune, so validation picks k alone; and it trusts a context by how often it was seen
against how open it looks (many different successors: more weight on the order below), where
add-α, one α for every order, over-smooths the dense low orders or under-smooths the sparse high
ones. Kneser-Ney's continuation counts matter little with four symbols, where nearly every base
follows nearly every context of low order.

Counting: a context and its successor are one integer, x · 6^K + Σ_j token[t-j] · 6^(K-j) for
j = 1..K (tokens are 0..5, PAD = 0 marks "before the sequence"), most recent base the most
significant context digit. One sort of these codes at K = MAX_ORDER gives every lower order by
integer division (which keeps the order sorted) and run-length counting: no dictionary, no sort
per order; orders whose 6^(k+1) codes fit DENSE_CODES are a table (np.bincount), summed down to
the next order. Scored contexts are looked up with np.searchsorted or in the table, highest order
first, so only one order's counts are held at a time. A context that runs into PAD (a segment's
start) is never looked up: a scored position with t tokens before it uses order min(k, t).

Training tokens are capped at MAX_TRAIN_TOKENS (both strands counted), taken as evenly spaced
contiguous pieces of the training regions, so that a large genome costs what the cap does: about
28 bytes per training token at the peak (the sorted codes, then the top order's distinct codes
and counts), under a gigabyte. The bundled genomes (15 Mb of training regions, 30 M tokens on
both strands) fit under the cap whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqmodels.data.dna.pretrain import DnaPretrainDataModule
from seqmodels.data.dna.tokens import PAD_ID, VOCAB_SIZE, reverse_complement
from seqmodels.data.dna.windows import split_regions

MAX_ORDER = 12
MAX_TRAIN_TOKENS = 2**25
DENSE_CODES = 6**9  # orders with at most this many (context, symbol) codes count in a table
BASE = VOCAB_SIZE  # digits of a code: PAD and the five symbols A, C, G, T, N
SYMBOLS = np.arange(1, VOCAB_SIZE)  # what is predicted: every token but PAD


def _codes(tokens: np.ndarray, span: int) -> np.ndarray:
    """For every position t along the last axis, Σ_j tokens[t-j] · BASE^(span-j), j = 1..span,
    with PAD before the start: the `span` tokens before t, the most recent most significant.

    By doubling (the code of 2s tokens is two codes of s tokens), so in O(log span) passes."""
    blocks = {1: np.zeros(tokens.shape, dtype=np.int64)}
    blocks[1][..., 1:] = tokens[..., :-1]
    while 2 * max(blocks) <= span:
        s = max(blocks)
        blocks[2 * s] = _append(blocks[s], blocks[s], s, s)
    codes, have = None, 0
    for s in sorted(blocks, reverse=True):  # the binary digits of span
        if have + s <= span:
            codes = blocks[s] if codes is None else _append(codes, blocks[s], have, s)
            have += s
    return codes


def _append(recent: np.ndarray, older: np.ndarray, shift: int, span: int) -> np.ndarray:
    """recent[t] · BASE^span + older[t - shift]: the codes of `recent`, `shift` tokens long,
    followed by those of `older`, `span` tokens long, that come before them."""
    out = recent * BASE**span
    if shift < out.shape[-1]:
        out[..., shift:] += older[..., :-shift]
    return out


def _stream_codes(tokens: np.ndarray, span: int, chunk: int = 2**20) -> np.ndarray:
    """_codes of a long 1-D array, a chunk at a time, so that temporaries stay a chunk long."""
    out = np.empty(len(tokens), dtype=np.int64)
    for start in range(0, len(tokens), chunk):
        first = max(0, start - span)  # the tokens before the chunk that its contexts reach
        out[start : start + chunk] = _codes(tokens[first : start + chunk], span)[start - first :]
    return out


def join_segments(segments: Sequence[np.ndarray], max_tokens: int = MAX_TRAIN_TOKENS) -> np.ndarray:
    """Segments back to back, each after one PAD (no context crosses a PAD); if they hold more
    than `max_tokens`, evenly spaced contiguous pieces of each, in proportion to its length."""
    total = sum(len(s) for s in segments)
    pieces = []
    for segment in segments:
        if total > max_tokens:
            keep = len(segment) * max_tokens // total
            n = max(1, keep // 65536)  # pieces of about 64 kb, spread over the segment
            size, stride = keep // n, len(segment) // n
            pieces += [segment[i * stride : i * stride + size] for i in range(n)]
        else:
            pieces.append(segment)
    out = [np.zeros(1, dtype=np.uint8)]
    for piece in pieces:
        out += [np.asarray(piece, dtype=np.uint8), np.zeros(1, dtype=np.uint8)]
    return np.concatenate(out)


def _run_lengths(codes: np.ndarray, counts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(distinct codes, their total counts) of a sorted code array (each code once if `counts`
    is None, else `counts` times)."""
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    if counts is None:
        totals = np.diff(np.r_[starts, len(codes)])
    else:
        totals = np.add.reduceat(counts, starts)
    return codes[starts], totals.astype(np.int32)


def _lookup(table: np.ndarray, counts: np.ndarray | None, codes: np.ndarray) -> np.ndarray:
    """The counts of `codes`: table[codes] for a dense table; else `table` holds the distinct
    codes, sorted, and `counts` their counts (0 for a code not there)."""
    if counts is None:
        return table[codes]
    at = np.minimum(np.searchsorted(table, codes), len(table) - 1)
    return np.where(table[at] == codes, counts[at], 0)


@dataclass
class _Targets:
    """The scored targets of some windows: symbol, order-K context code, and how many tokens
    before each the window holds (since its start or its last PAD)."""

    symbols: np.ndarray
    contexts: np.ndarray
    available: np.ndarray

    @classmethod
    def of(cls, windows: np.ndarray, max_order: int) -> _Targets:
        windows = np.asarray(windows, dtype=np.int64)
        targets = windows[:, 1:]
        mask = targets != PAD_ID  # as the language model's loss: every target but PAD
        index = np.broadcast_to(np.arange(windows.shape[1]), windows.shape)
        last_pad = np.maximum.accumulate(np.where(windows == PAD_ID, index, -1), axis=1)
        available = np.arange(1, windows.shape[1]) - 1 - last_pad[:, :-1]
        contexts = _codes(windows, max_order)[:, 1:]
        return cls(targets[mask], contexts[mask], available[mask])


def markov_bits(
    train: np.ndarray, scored: dict[str, np.ndarray], max_order: int = MAX_ORDER
) -> dict[str, np.ndarray]:
    """{split: mean bits per target of its windows (N, L) for orders 0..max_order}, the models
    fitted on `train` (one token array, segments joined by PAD: join_segments).

    Counts are read top order first, so only one order's are held at a time: for each order and
    target, C(c), T(c) and C(c, x) (see the module docstring); then the interpolation runs from
    order 0 up."""
    K = max_order
    splits = {name: _Targets.of(windows, K) for name, windows in scored.items()}
    x = np.concatenate([t.symbols for t in splits.values()])
    contexts = np.concatenate([t.contexts for t in splits.values()])
    available = np.concatenate([t.available for t in splits.values()])
    # x · BASE^K + context, of every training position: the K + 1 tokens up to t, t first
    codes = _stream_codes(np.r_[np.asarray(train, dtype=np.uint8), PAD_ID], K + 1)[1:]
    codes.sort()
    codes = codes[np.searchsorted(codes, BASE**K) :]  # PAD is never a target
    distinct, counts = _run_lengths(codes, None)
    del codes
    seen = np.zeros((K + 1, 3, len(x)), dtype=np.int64)  # C(c), T(c), C(c, x) per order
    table = None
    for k in range(K, -1, -1):
        if table is not None:  # a dense table: sum out the oldest context digit
            table = table.reshape(BASE, BASE**k, BASE).sum(axis=2).ravel()
        elif k < K:  # drop the oldest context digit: the codes stay sorted
            distinct, counts = _run_lengths(distinct // BASE, counts)
        if table is None and BASE ** (k + 1) <= DENSE_CODES:
            table = np.bincount(distinct, weights=counts, minlength=BASE ** (k + 1))
            table = table.astype(np.int64)
            distinct = counts = None
        use = available >= k  # the others keep C(c) = 0: they back off to the order below
        q, inverse = np.unique(contexts[use] // BASE ** (K - k), return_inverse=True)
        per_symbol = np.stack(
            [
                _lookup(distinct if table is None else table, counts, s * BASE**k + q)
                for s in SYMBOLS
            ]
        )[:, inverse]
        seen[k, 0, use] = per_symbol.sum(axis=0)
        seen[k, 1, use] = (per_symbol > 0).sum(axis=0)
        seen[k, 2, use] = per_symbol[x[use] - 1, np.arange(len(inverse))]
    p = np.full(len(x), 1.0 / len(SYMBOLS))
    bits = np.empty((K + 1, len(x)))
    for k in range(K + 1):
        total, types, joint = seen[k]
        known = total > 0
        p[known] = (joint[known] + types[known] * p[known]) / (total[known] + types[known])
        bits[k] = -np.log2(p)
    out, start = {}, 0
    for name, targets in splits.items():
        n = len(targets.symbols)
        out[name] = bits[:, start : start + n].mean(axis=1) if n else np.full(K + 1, np.nan)
        start += n
    return out


def markov_baseline(
    train: np.ndarray, scored: dict[str, np.ndarray], max_order: int = MAX_ORDER
) -> dict[str, dict[str, float]]:
    """{split: {"markov_bits_per_base": bits, "markov_order": k}} for each scored split's windows,
    k chosen on scored["val"]; `train` is the joined training tokens (join_segments)."""
    bits = markov_bits(train, scored, max_order)
    order = int(np.nanargmin(bits["val"]))
    return {
        split: {"markov_bits_per_base": float(b[order]), "markov_order": float(order)}
        for split, b in bits.items()
    }


def _windows(dataset) -> np.ndarray:
    return np.stack([dataset[i]["tokens"].numpy() for i in range(len(dataset))])  # (N, L)


def pretrain_baselines(datamodule: DnaPretrainDataModule) -> dict[str, dict[str, float]]:
    """The Markov baseline of a dna_pretrain run: fitted on the training regions of its files
    (both strands when it trains on both), scored on its validation and test windows."""
    datamodule.prepare_data()
    for stage in ("validate", "test"):
        datamodule.setup(stage)
    segments = []
    for store in datamodule.val_dataset.stores:
        for i, record in enumerate(store.records):
            start, end = split_regions(record.length, datamodule.split)["train"]
            segment = store.window(i, start, end)
            segments.append(segment)
            if datamodule.rc_prob > 0:
                segments.append(reverse_complement(segment))
    scored = {"val": _windows(datamodule.val_dataset), "test": _windows(datamodule.test_dataset)}
    return markov_baseline(join_segments(segments), scored)
