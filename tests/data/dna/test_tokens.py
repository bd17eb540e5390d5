"""The DNA vocabulary: encoding policy, decoding and the reverse complement."""

import time

import numpy as np
import pytest
import torch

from seqmodels.data.dna.tokens import (
    N_ID,
    PAD_ID,
    VOCAB_SIZE,
    InvalidBaseError,
    decode,
    encode,
    reverse_complement,
)


def test_vocabulary_ids():
    assert (PAD_ID, N_ID, VOCAB_SIZE) == (0, 5, 6)
    assert encode("ACGTN").tolist() == [1, 2, 3, 4, 5]


def test_encode_returns_uint8_for_str_and_bytes():
    for seq in ("ACGT", b"ACGT"):
        tokens = encode(seq)
        assert tokens.dtype == np.uint8
        assert tokens.tolist() == [1, 2, 3, 4]
    assert encode("").shape == (0,)


def test_lowercase_is_uppercased():
    assert encode("acgtn").tolist() == encode("ACGTN").tolist()


@pytest.mark.parametrize("code", list("RYSWKMBDHVN") + list("ryswkmbdhvn"))
def test_iupac_ambiguity_codes_are_n(code):
    assert encode(code).tolist() == [N_ID]


@pytest.mark.parametrize(
    ("seq", "position", "char"),
    [("ACGU", 3, "U"), ("ACu", 2, "u"), ("AC-GT", 2, "-"), ("A*", 1, "*"), ("AC GT", 2, " ")]
    + [("AC\tG", 2, "\t"), ("ACX", 2, "X"), ("A1", 1, "1"), ("ACGé", 3, "é")],
)
def test_invalid_characters_raise_with_position(seq, position, char):
    with pytest.raises(InvalidBaseError) as error:
        encode(seq)
    assert isinstance(error.value, ValueError)
    assert (error.value.position, error.value.char) == (position, char)


def test_decode_round_trip_and_drops_pad():
    assert decode(encode("ACGTacgtRY")) == "ACGTACGTNN"
    assert decode(torch.tensor([0, 1, 2, 0, 3, 4, 5, 0])) == "ACGTN"
    with pytest.raises(ValueError):
        decode(np.array([1, 6]))


def test_reverse_complement_numpy():
    tokens = encode("AACGTN")
    rc = reverse_complement(tokens)
    assert decode(rc) == "NACGTT"
    assert rc.dtype == np.uint8
    np.testing.assert_array_equal(reverse_complement(rc), tokens)


def test_reverse_complement_keeps_pad_and_works_on_last_dim():
    batch = torch.tensor([[1, 1, 2, 0, 0], [3, 4, 5, 4, 0]])
    rc = reverse_complement(batch)
    assert rc.tolist() == [[0, 0, 3, 4, 4], [0, 1, 5, 1, 2]]
    assert rc.dtype == batch.dtype
    assert torch.equal(reverse_complement(rc), batch)
    np.testing.assert_array_equal(reverse_complement(batch.numpy()), rc.numpy())


def test_reverse_complement_torch_uint8_is_an_involution():
    tokens = torch.randint(0, VOCAB_SIZE, (3, 257), dtype=torch.uint8)
    assert torch.equal(reverse_complement(reverse_complement(tokens)), tokens)


def test_encoding_a_genome_is_fast():
    seq = "ACGTNacgtn" * 1_880_000  # 18.8 Mb, the size of the bundled genomes
    start = time.perf_counter()
    encode(seq)
    assert time.perf_counter() - start < 1.0
