"""Task heads on the backbone: sequence classification and regression (pooled), and next-token
prediction.

Padding is masked out of the pooling, and no backbone variant lets padding reach a real token,
so a right-padded sequence gets the same prediction as the sequence alone. A classifier with a
complement in its config can average its logits with those of the reverse complement at test time
(`rc_average`: in eval mode only, so training sees one strand at a time).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqmodels.models.backbones import build_backbone
from seqmodels.models.backbones.causal import BackboneState
from seqmodels.models.config import CAUSAL_VARIANTS, ModelConfig
from seqmodels.models.reverse import reverse_complement_ids

POOLINGS = ("mean", "last")


def pool(hidden: Tensor, mask: Tensor | None, pooling: str) -> Tensor:
    """(batch, L, d) → (batch, d): mean over valid tokens, or the last valid token."""
    if pooling == "mean":
        if mask is None:
            return hidden.mean(dim=1)
        weights = mask.to(hidden.dtype)[..., None]  # (B, L, 1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
    if pooling == "last":
        if mask is None:
            return hidden[:, -1]
        last = (mask.long().sum(1) - 1).clamp(min=0)  # (B,)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"pooling={pooling!r}: choose one of {', '.join(POOLINGS)}")


class SequenceClassifier(nn.Module):
    """Backbone + pooling + a linear layer: token ids (batch, L) → class logits (batch, classes)."""

    def __init__(
        self,
        config: ModelConfig,
        num_classes: int,
        pooling: str = "mean",
        rc_average: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}: choose one of {', '.join(POOLINGS)}")
        if config.variant == "rc_equivariant" and pooling != "mean":
            # the last token of a sequence is the first of its reverse complement
            raise ValueError("an rc_equivariant model is RC-invariant with mean pooling only")
        if rc_average and config.complement is None:
            raise ValueError("rc_average needs an alphabet with a complement (model.complement)")
        self.config = config
        self.pooling = pooling
        self.rc_average = rc_average
        self.backbone = build_backbone(config)
        self.head = nn.Linear(config.d_model, num_classes)
        if rc_average:
            self.register_buffer("complement", torch.tensor(config.complement), persistent=False)

    def _logits(self, input_ids: Tensor, mask: Tensor | None) -> Tensor:
        return self.head(pool(self.backbone.encode(input_ids, mask), mask, self.pooling))

    def head_outputs(self, input_ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """What the linear head gives (batch, outputs), averaged with the reverse complement's
        under rc_average in eval mode; `forward` is `outputs_from_head` of this."""
        logits = self._logits(input_ids, mask)
        if self.rc_average and not self.training:
            rc = reverse_complement_ids(input_ids, mask, self.complement)
            logits = (logits + self._logits(rc, mask)) / 2
        return logits

    def outputs_from_head(self, head: Tensor) -> Tensor:
        """The model's outputs from the head's (batch, outputs): the same for a classifier (its
        logits). Streaming (seqmodels.models.streaming) applies the head itself and then this,
        so a streamed sequence gets what `forward` gives."""
        return head

    def forward(self, input_ids: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.outputs_from_head(self.head_outputs(input_ids, mask))


class SequenceRegressor(SequenceClassifier):
    """A SequenceClassifier whose outputs are values (batch, targets) in the training data's
    units: the linear head predicts standardised targets, (y - mean) / std, which keeps the
    loss and the learning rate independent of the targets' scale, and the model returns
    mean + std * that. `mean` and `std` (targets,) come from the model card: buffers that are
    not saved with the weights."""

    def __init__(
        self,
        config: ModelConfig,
        mean: list[float],
        std: list[float],
        pooling: str = "mean",
        rc_average: bool = False,
    ) -> None:
        if len(mean) != len(std):
            raise ValueError(f"{len(mean)} target means but {len(std)} stds")
        super().__init__(config, len(mean), pooling, rc_average)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)

    def standardised(self, input_ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """(batch, targets) in standard units: what training fits."""
        return self.head_outputs(input_ids, mask)

    def outputs_from_head(self, head: Tensor) -> Tensor:
        """Standard units (the head's) → the data's units: mean + std * head."""
        return self.mean + self.std * head.float()


class LanguageModel(nn.Module):
    """Backbone + an output layer tied to the embedding: ids (batch, L) → logits (batch, L, V)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.variant not in CAUSAL_VARIANTS:
            raise ValueError(
                f"a language model needs a causal backbone ({', '.join(CAUSAL_VARIANTS)}), "
                f"not {config.variant}"
            )
        self.config = config
        self.backbone = build_backbone(config)
        self.lm_head = nn.Linear(config.d_model, config.padded_vocab_size, bias=False)
        self.lm_head.weight = self.backbone.embedding.weight

    def forward(
        self, input_ids: Tensor, state: BackboneState | None = None
    ) -> tuple[Tensor, BackboneState | None]:
        hidden, state = self.backbone(input_ids, state)
        return self.lm_head(hidden)[..., : self.config.vocab_size], state

    def step(self, input_ids: Tensor, state: BackboneState) -> Tensor:
        """Next-token logits (batch, V) after one token per sequence; updates `state` in place."""
        return self.lm_head(self.backbone.step(input_ids, state))[..., : self.config.vocab_size]
