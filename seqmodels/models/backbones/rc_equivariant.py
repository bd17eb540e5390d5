"""The reverse-complement-equivariant backbone: one causal backbone reads both strands.

DNA is double-stranded: a sequence and its reverse complement are the same molecule, so a
prediction about it should not depend on which strand a file holds. Here that is built in by
parameter sharing (the RC parameter sharing of Caduceus): the same causal backbone reads the
sequence and its reverse complement, each 5'→3', and position t's features are the sum of the
forward reading at t and the reverse-complement reading at the same base:

    encode(x)[t] = h(x)[t] + h(rc(x))[n-1-t]        h = the causal backbone, n = x's length

so encode(rc(x))[t] = encode(x)[n-1-t] (the two terms swap places; in floating point too), and
mean pooling of it is RC-invariant: a sequence and its reverse complement get the same class
prediction. Every position sees both sides of itself: upstream through the forward strand,
downstream through the other one. Caduceus reads each strand with a bidirectional stack; reading
each 5'→3' costs the same two scans per block as the bidirectional model and keeps exactly the
causal backbone's parameters, so a causal next-base pretraining (task=dna_pretrain) initialises
it weight for weight.

As a subclass of MambaBackbone its forward, state and step are those of the one-strand causal
reader; `encode` is the two-strand reading that classifiers pool.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seqmodels.models.backbones.causal import MambaBackbone
from seqmodels.models.config import ModelConfig
from seqmodels.models.reverse import reverse_complement_ids, reverse_padded


class RCEquivariantBackbone(MambaBackbone):
    def __init__(self, config: ModelConfig, device=None, dtype=None) -> None:
        if config.complement is None:
            raise ValueError("the rc_equivariant backbone needs model.complement")
        super().__init__(config, device=device, dtype=dtype)
        # Not saved: it comes from the config, and the weights stay those of a causal backbone.
        self.register_buffer(
            "complement", torch.tensor(config.complement, device=device), persistent=False
        )

    def encode(self, input_ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """Token ids (batch, L), right-padded where `mask` is False → (batch, L, D); see above."""
        rc = reverse_complement_ids(input_ids, mask, self.complement)
        hidden, _ = self(torch.cat([input_ids, rc]))  # both strands in one pass: (2B, L, D)
        forward, reverse = hidden.chunk(2)
        return forward + reverse_padded(reverse, mask)
