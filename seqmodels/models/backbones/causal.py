"""The causal backbone: token embedding, a stack of blocks, and the final norm.

The blocks are Mamba blocks, or for model.variant=hybrid/transformer attention blocks among or
instead of them (hybrid.py); every kind carries its own state, so what follows holds for all.

`forward(ids)` maps tokens to hidden states. Given a state (from `allocate_inference_cache`, or
returned by an earlier call), it continues from it and returns the next one, so that for a causal
model forward(x[:, :a]) then forward(x[:, a:], state) equals forward(x); `step` decodes one token
in constant time and memory.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from seqmodels.models.attention import KVCache
from seqmodels.models.backbones.hybrid import causal_blocks
from seqmodels.models.block import checkpointing_on, final_norm, run_block
from seqmodels.models.config import ModelConfig
from seqmodels.models.mixer import MixerState

BackboneState = list[MixerState | KVCache]


def init_weights(backbone: nn.Module, out_projs: list[nn.Linear]) -> None:
    """Mamba's initialisation: small embeddings, zero biases, and output projections scaled by
    1/sqrt(n_layer) so that the residual stream's variance does not grow with depth."""
    nn.init.normal_(backbone.embedding.weight, std=0.02)
    for module in backbone.modules():
        if isinstance(module, nn.Linear) and module.bias is not None:
            if not getattr(module.bias, "_no_reinit", False):
                nn.init.zeros_(module.bias)
    for out_proj in out_projs:
        nn.init.kaiming_uniform_(out_proj.weight, a=math.sqrt(5))
        with torch.no_grad():
            out_proj.weight /= math.sqrt(len(out_projs))


class MambaBackbone(nn.Module):
    def __init__(self, config: ModelConfig, device=None, dtype=None) -> None:
        super().__init__()
        self.config = config
        factory = {"device": device, "dtype": dtype}
        self.embedding = nn.Embedding(config.padded_vocab_size, config.d_model, **factory)
        self.layers, out_projs = causal_blocks(config, factory)
        self.norm_f = nn.RMSNorm(config.d_model, eps=config.norm_eps, **factory)
        init_weights(self, out_projs)

    def forward(
        self, input_ids: Tensor, state: BackboneState | None = None
    ) -> tuple[Tensor, BackboneState | None]:
        """(batch, L) token ids → hidden states (batch, L, d_model), and the state after them
        when a state was given (None otherwise)."""
        hidden, residual = self.embedding(input_ids), None
        new_state: BackboneState = []
        checkpointed = checkpointing_on(self.config.checkpointing, self, input_ids.shape[1])
        for i, layer in enumerate(self.layers):
            hidden, residual, layer_state = run_block(
                layer, checkpointed, hidden, residual, None if state is None else state[i]
            )
            new_state.append(layer_state)
        return final_norm(self.norm_f, hidden, residual), (None if state is None else new_state)

    def encode(self, input_ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """Features of whole sequences for pooling (batch, L, d_model), the reading every backbone
        variant offers classifiers. Right padding never reaches a real token of a causal model, so
        the mask is not needed here."""
        return self(input_ids)[0]

    def allocate_inference_cache(self, batch: int, device=None, dtype=None) -> BackboneState:
        return [layer.mixer.allocate_inference_cache(batch, device, dtype) for layer in self.layers]

    def step(self, input_ids: Tensor, state: BackboneState) -> Tensor:
        """One token per sequence (batch,) → hidden (batch, d_model); updates `state` in place."""
        hidden, residual = self.embedding(input_ids), None
        for layer, layer_state in zip(self.layers, state, strict=True):
            hidden, residual = layer.step(hidden, residual, layer_state)
        return final_norm(self.norm_f, hidden, residual)
