"""Models for DNA inference: seqmodels' own, or a mamba_ssm checkpoint read onto the DNA alphabet.

A mamba_ssm / Hugging Face checkpoint has its own token ids; `load_model` maps them onto ours
(seqmodels.data.dna.tokens) through seqmodels.models.mamba_checkpoint. A run, model folder or
checkpoint of seqmodels loads as it always does (seqmodels.models.pretrained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE, decode
from seqmodels.models.mamba_checkpoint import Alphabet
from seqmodels.models.pretrained import load_pretrained

# the token of each id, read from the tokens module itself so the two cannot disagree
DNA_ALPHABET = Alphabet(
    name="dna",
    tokens=tuple(None if i == PAD_ID else decode([i]) for i in range(VOCAB_SIZE)),
    pad_id=PAD_ID,
    complement=COMPLEMENT,
    unit="base",
)


def load_model(
    path: str | Path, token_map: dict | str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """(model, description) of a run, model folder, .ckpt or mamba_ssm checkpoint folder."""
    return load_pretrained(path, alphabet=DNA_ALPHABET, token_map=token_map)
