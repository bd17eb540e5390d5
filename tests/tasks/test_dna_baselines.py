"""The Markov baseline of DNA language models: its counts and smoothing, the choice of k, what it
scores, and that task=dna_pretrain logs it beside the model's own bits."""

import csv
import math
import random

import numpy as np
import pytest

from seqmodels.cli import main
from seqmodels.data.dna.tokens import N_ID, PAD_ID, encode
from seqmodels.tasks.dna_baselines import join_segments, markov_baseline, markov_bits


def test_bits_on_a_sequence_counted_by_hand():
    # Training AACA: order 0 sees A 3 times and C once (2 symbol types, 4 positions); order 1
    # sees A->A, A->C (context A: 2 positions, 2 types) and C->A (context C: 1, 1); order 2
    # sees AC->A. Witten-Bell mixes each order with the one below by T(c) / (C(c) + T(c)).
    train = join_segments([encode("AACA")])
    bits = markov_bits(train, {"test": encode("ACA")[None]}, max_order=2)["test"]
    uniform = 1 / 5  # A, C, G, T, N
    p0 = {"A": (3 + 2 * uniform) / (4 + 2), "C": (1 + 2 * uniform) / (4 + 2)}
    p1 = {"C|A": (1 + 2 * p0["C"]) / (2 + 2), "A|C": (1 + 1 * p0["A"]) / (1 + 1)}
    p2_A_AC = (1 + 1 * p1["A|C"]) / (1 + 1)
    # Targets C (one base before it: order 1 at most) and A (after AC).
    expected = [
        -(math.log2(p0["C"]) + math.log2(p0["A"])) / 2,
        -(math.log2(p1["C|A"]) + math.log2(p1["A|C"])) / 2,
        -(math.log2(p1["C|A"]) + math.log2(p2_A_AC)) / 2,
    ]
    np.testing.assert_allclose(bits, expected, rtol=1e-12)


def test_no_context_crosses_from_one_segment_to_the_next():
    # Joined, AC|GT would have a C->G if the segments touched; scored CG must not find it.
    joined = markov_bits(join_segments([encode("AC"), encode("GT")]), {"s": encode("CG")[None]})
    alone = markov_bits(join_segments([encode("ACGT")]), {"s": encode("CG")[None]})
    order0, order1 = joined["s"][:2]
    assert order1 == pytest.approx(order0)  # context C was seen, but never followed by anything
    assert alone["s"][1] < order1  # in one segment C->G is counted


def test_pad_targets_are_skipped_and_n_is_scored_as_the_model_scores_them():
    rng = np.random.default_rng(0)
    train = join_segments([rng.integers(1, 5, 2000).astype(np.uint8)])
    window = rng.integers(1, 5, 40)
    padded = np.r_[window, [PAD_ID] * 9][None]
    np.testing.assert_allclose(
        markov_bits(train, {"s": padded})["s"], markov_bits(train, {"s": window[None]})["s"]
    )
    with_n = window.copy()
    with_n[20] = N_ID  # never seen in training: costs more than any base
    assert (
        markov_bits(train, {"s": with_n[None]})["s"] > markov_bits(train, {"s": window[None]})["s"]
    ).all()


def order3_source(length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Tokens drawn with `seed` from one random order-3 Markov chain (sharp transitions that
    depend on the oldest base as much as on the others), and the true probability of each token
    given the 3 before it."""
    transitions = np.random.default_rng(0).dirichlet([0.3] * 4, size=64)  # (3 bases, next)
    draws = np.random.default_rng(seed).random(length)
    bases = np.zeros(length, dtype=np.int64)
    true = np.ones(length)
    for t in range(3, length):
        row = transitions[bases[t - 3] * 16 + bases[t - 2] * 4 + bases[t - 1]]
        bases[t] = min(int(np.searchsorted(np.cumsum(row), draws[t])), 3)
        true[t] = row[bases[t]]
    return (bases + 1).astype(np.uint8), true  # A, C, G, T = 1..4


def test_validation_picks_the_order_of_the_source_and_reaches_its_entropy():
    train, _ = order3_source(200_000, seed=1)
    held_out, true = order3_source(60_000, seed=2)  # the same chain, other draws
    held_out, true = held_out[1000:].reshape(-1, 1000), true[1000:].reshape(-1, 1000)
    val, test = held_out[:30], held_out[30:]
    result = markov_baseline(join_segments([train]), {"val": val, "test": test})
    assert result["val"]["markov_order"] == 3 == result["test"]["markov_order"]
    entropy = -np.log2(true[30:, 1:]).mean()  # the true chain's bits on the test targets
    assert result["test"]["markov_bits_per_base"] == pytest.approx(entropy, abs=0.02)
    bits = markov_bits(join_segments([train]), {"test": test})["test"]
    assert bits[2] > bits[3] + 0.1  # order 2 misses what the oldest base says


def test_training_tokens_are_capped_with_pieces_of_every_segment():
    segments = [np.full(300_000, 1, np.uint8), np.full(100_000, 2, np.uint8)]
    joined = join_segments(segments, max_tokens=200_000)
    bases = joined[joined != PAD_ID]
    assert len(bases) <= 200_000 and (bases == 1).sum() == pytest.approx(
        3 * (bases == 2).sum(), rel=0.05
    )
    assert len(join_segments(segments)) == 400_003  # under the cap: whole, with 3 PADs


def test_pretraining_logs_the_markov_baseline_beside_its_bits(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    rng = random.Random(0)
    fasta = tmp_path / "genome.fa"
    # repeats of a few 5-mers: an order-4 model predicts most bases
    fasta.write_text(">g\n" + "".join(rng.choice(["ACGTT", "AGGCA", "TTGCA"]) for _ in range(1000)))
    argv = [
        "fit",
        "task=dna_pretrain",
        f"data.fasta={fasta}",
        f"run_root={tmp_path / 'runs'}",
        "model.d_model=16",
        "model.n_layer=1",
        "data.seq_len=64",
        "data.batch_size=2",
        "data.train_batches_per_epoch=2",
        "data.val_windows_per_file=4",
        "data.test_windows_per_file=4",
        "warmup.min_len=null",
        "trainer.max_steps=2",
    ]
    assert main(argv) == 0
    assert "test/markov_bits_per_base" in capsys.readouterr().out  # the final metrics table
    run = tmp_path / "runs" / "dna_pretrain" / "latest"
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    logged = {
        key: float(value) for row in rows for key, value in row.items() if "markov" in key and value
    }
    assert set(logged) == {
        f"{s}/markov_{m}" for s in ("val", "test") for m in ("bits_per_base", "order")
    }
    assert logged["val/markov_order"] == logged["test/markov_order"] >= 4
    assert 0 < logged["test/markov_bits_per_base"] < 1  # far below 2 bits: it found the repeats
