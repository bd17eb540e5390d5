"""AdamW with no-decay groups, and the warmup + cosine learning-rate schedule.

Weight decay applies to matrices only: biases, norms, embeddings' 1-D parameters and every
parameter marked `_no_weight_decay` (the SSM's A_log, D and Δ bias) are left alone, as in Mamba.
A parameter marked `_lr_scale` trains at that share of the learning rate (fine-tuning).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay and no-decay groups, split further by each parameter's learning-rate scale
    (`_lr_scale`, 1 unless set: fine-tuning gives a pretrained backbone a lower rate)."""
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {(1.0, True): [], (1.0, False): []}
    for param in model.parameters():
        if not param.requires_grad:
            continue
        decay = not (getattr(param, "_no_weight_decay", False) or param.dim() < 2)
        groups.setdefault((getattr(param, "_lr_scale", 1.0), decay), []).append(param)
    return [
        {"params": params, "weight_decay": weight_decay if decay else 0.0, "lr_scale": scale}
        for (scale, decay), params in groups.items()
    ]


def build_optimizer(
    model: nn.Module, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.95)
) -> torch.optim.AdamW:
    groups = [
        {**group, "lr": lr * group["lr_scale"]} for group in parameter_groups(model, weight_decay)
    ]
    params = [param for group in groups for param in group["params"]]
    # on a GPU, AdamW's fused kernel updates every parameter in one launch per step
    fused = True if use_fused(params) else None
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), fused=fused)


def use_fused(params: list) -> bool:
    """Whether AdamW's fused implementation applies: every parameter a CUDA tensor."""
    return bool(params) and all(param.is_cuda for param in params)


def warmup_cosine(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup to the peak rate, then a cosine decay to min_lr_ratio × peak at total_steps."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
