"""The blocks of a causal backbone: SSM blocks, attention blocks (attention.py), or both.

    causal        every block an SSM block
    hybrid        SSM blocks with attention blocks at config.attention_layers()
    transformer   every block an attention block (with the MLP that sizes it like an SSM block)

The causal backbone (causal.py) builds its blocks here, so streaming, generation, the
rc_equivariant reading of both strands and fine-tuning treat every one alike: each block keeps
its own state (an SSM state or a KV cache) and offers forward(hidden, residual, state) and step.

`map_block_state` lays a trained causal reader's weights out for another one block by block:
an SSM block fills an SSM block, an attention block an attention block; a target block whose
source block is an SSM block but which is itself attention is new (trained from scratch).
"""

from __future__ import annotations

from torch import Tensor, nn

from seqmodels.models.attention import MLP, Attention, AttentionBlock
from seqmodels.models.block import Block
from seqmodels.models.config import ModelConfig
from seqmodels.models.mixer import MambaMixer


def causal_blocks(config: ModelConfig, factory: dict) -> tuple[nn.ModuleList, list[nn.Linear]]:
    """The blocks of a causal reader, and the output projections that init_weights scales."""
    attention = set(config.attention_layers())
    layers, out_projs = [], []
    norms = {"norm_eps": config.norm_eps, "residual_in_fp32": config.residual_in_fp32}
    for i in range(config.n_layer):
        if i in attention:
            mixer = Attention(
                config.d_model,
                config.heads,
                window=config.window,
                causal=True,
                rope_base=config.rope_base,
                bias=config.bias,
                **factory,
            )
            mlp = MLP(config.d_model, config.mlp_hidden, bias=config.bias, **factory)
            layers.append(AttentionBlock(mixer, mlp, **norms))
            out_projs += [mixer.out_proj, mlp.out_proj]
        else:
            layers.append(
                Block(MambaMixer(config.d_model, **config.mixer_kwargs(), **factory), **norms)
            )
            out_projs.append(layers[-1].mixer.out_proj)
    return nn.ModuleList(layers), out_projs


def map_block_state(
    state: dict[str, Tensor], have: ModelConfig, want: ModelConfig
) -> tuple[dict[str, Tensor], list[int]]:
    """A causal reader's weights (`have`'s state dict) for a causal reader of config `want`, and
    the blocks of `want` that get no weights (attention where the source has an SSM block).

    ValueError when a block cannot be filled (an attention block where `want` has an SSM one),
    or when no block at all would be."""
    source, target = set(have.attention_layers()), set(want.attention_layers())
    undone = sorted(source - target)
    if undone:
        raise ValueError(
            f"block {undone[0]} of the source is an attention block and this run's is an SSM "
            "block: its blocks do not map onto this model"
        )
    new = sorted(target - source)
    if len(new) == want.n_layer:
        raise ValueError(
            "none of its blocks maps onto this model (SSM blocks cannot start attention blocks): "
            "start a transformer from a transformer, or a hybrid from an SSM model"
        )
    dropped = tuple(f"layers.{i}." for i in new)
    return {k: v for k, v in state.items() if not k.startswith(dropped)}, new
