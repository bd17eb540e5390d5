"""The DNA vocabulary: the one place that says how bases become token ids.

    id  token  from
    0   PAD    padding only; never produced by `encode`
    1   A      A a
    2   C      C c
    3   G      G g
    4   T      T t
    5   N      N and the IUPAC ambiguity codes R Y S W K M B D H V (either case)

Lowercase (soft-masked) bases are uppercased. Every other character is an error
(`InvalidBaseError`), including the gap '-' and '.', '*', digits and whitespace; so is U: it is
an RNA base, and silently reading RNA as DNA would hide a wrong input file, so the user converts
it (U -> T) on purpose. Callers that know the file turn the error into a `UserError` that names
the file, the record and the line.

Encoding is one 256-entry lookup table applied by numpy, so a whole genome encodes in
milliseconds. The reverse complement swaps A<->T and C<->G, keeps PAD and N, and reverses the
last dimension, for numpy arrays and torch tensors alike.
"""

from typing import TypeVar

import numpy as np
import torch

PAD_ID = 0
A_ID, C_ID, G_ID, T_ID = 1, 2, 3, 4
N_ID = 5
VOCAB_SIZE = 6
COMPLEMENT = [PAD_ID, T_ID, G_ID, C_ID, A_ID, N_ID]  # the complement of each id, for the models

_INVALID = 255  # marks bytes that are not bases in the lookup table
_DECODE = np.frombuffer(b"\0ACGTN", dtype=np.uint8)  # PAD decodes to nothing (see `decode`)


def _encode_table() -> np.ndarray:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for letters, token in (
        ("A", A_ID),
        ("C", C_ID),
        ("G", G_ID),
        ("T", T_ID),
        ("NRYSWKMBDHV", N_ID),
    ):
        for letter in letters:
            table[ord(letter)] = table[ord(letter.lower())] = token
    return table


_ENCODE = _encode_table()

Tokens = TypeVar("Tokens", np.ndarray, torch.Tensor)


class InvalidBaseError(ValueError):
    """A character that is neither a base nor an IUPAC ambiguity code, at `position` (0-based)."""

    def __init__(self, position: int, char: str) -> None:
        self.position = position
        self.char = char
        super().__init__(f"invalid base {char!r} at position {position}")


def encode(seq: str | bytes) -> np.ndarray:
    """Token ids (uint8, shape (len(seq),)) of a DNA sequence; raises `InvalidBaseError`."""
    if isinstance(seq, str):
        try:
            seq = seq.encode("ascii")
        except UnicodeEncodeError as error:
            raise InvalidBaseError(error.start, seq[error.start]) from None
    tokens = _ENCODE[np.frombuffer(seq, dtype=np.uint8)]
    if tokens.size and tokens.max() == _INVALID:
        position = int(np.argmax(tokens == _INVALID))
        raise InvalidBaseError(position, chr(seq[position]))
    return tokens


def decode(tokens: np.ndarray | torch.Tensor) -> str:
    """The bases of a 1-D token sequence; PAD tokens are dropped, since they are not sequence."""
    ids = tokens.cpu().numpy() if isinstance(tokens, torch.Tensor) else np.asarray(tokens)
    if ids.ndim != 1:
        raise ValueError(f"decode takes a 1-D token sequence, got shape {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= VOCAB_SIZE):
        raise ValueError(f"token ids must be in [0, {VOCAB_SIZE}), got {ids.min()}..{ids.max()}")
    return _DECODE[ids[ids != PAD_ID]].tobytes().decode("ascii")


def reverse_complement(tokens: Tokens) -> Tokens:
    """The reverse complement along the last dimension; same type, dtype and device as given.

    A, C, G, T (1..4) map to 5 - id; PAD and N keep their ids.
    """
    is_base = (tokens >= A_ID) & (tokens <= T_ID)
    if isinstance(tokens, torch.Tensor):
        return torch.where(is_base, T_ID + A_ID - tokens, tokens).flip(-1)
    tokens = np.asarray(tokens)
    complement = np.where(is_base, T_ID + A_ID - tokens, tokens).astype(tokens.dtype, copy=False)
    return np.ascontiguousarray(complement[..., ::-1])
