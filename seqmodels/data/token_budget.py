"""Batches that fit in memory at any window length, and a token budget per optimiser step.

Two data options decide how windows become optimiser steps (for the tasks whose data config has
them, e.g. task=dna_species):

    data.max_batch_tokens   the most tokens one forward pass may hold: a batch has
                            min(data.batch_size, max_batch_tokens // seq_len) windows, at least 1
    data.tokens_per_step    the token budget of one optimiser step (null: data.batch_size windows,
                            as without a cap); batches are accumulated to reach it

so at 1,024 bases a step is one batch of 32 windows as before, and at 2^20 bases it is batches of
one window, accumulated (Lightning's accumulate_grad_batches) up to the budget, at least one
window per step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig

from seqmodels.data.datamodule import check_counts
from seqmodels.errors import UserError

KEYS = ("max_batch_tokens", "tokens_per_step")


def batch_plan(
    batch_size: int, seq_len: int, max_batch_tokens: int | None, tokens_per_step: int | None
) -> tuple[int, int]:
    """(windows per batch, batches per optimiser step) for training windows of seq_len tokens."""
    check_counts(batch_size=batch_size, seq_len=seq_len)
    for name, value in (
        ("max_batch_tokens", max_batch_tokens),
        ("tokens_per_step", tokens_per_step),
    ):
        if value is not None and value < 1:
            raise UserError(f"data.{name} must be at least 1 (or null), got {value}")
    rows = batch_size
    if max_batch_tokens is not None:
        rows = max(1, min(batch_size, max_batch_tokens // seq_len))
    per_step = batch_size if tokens_per_step is None else max(1, tokens_per_step // seq_len)
    rows = min(rows, per_step)
    return rows, math.ceil(per_step / rows)


def data_plan(data: Mapping[str, Any]) -> tuple[int, int]:
    """batch_plan for a task's data config (its training length: train_seq_len, else seq_len)."""
    seq_len = data.get("train_seq_len") or data["seq_len"]
    return batch_plan(
        data["batch_size"], seq_len, data.get("max_batch_tokens"), data.get("tokens_per_step")
    )


def accumulation(cfg: DictConfig, accumulate: int) -> int:
    """Lightning's accumulate_grad_batches: the trainer's `accumulate` when set (not 1) or when
    the task's data has no token budget options, else what data_plan computes."""
    data = cfg.get("data") or {}
    if not any(key in data for key in KEYS):
        return accumulate
    if accumulate != 1:
        if data.get("tokens_per_step") is not None:
            raise UserError(
                f"trainer.accumulate_grad_batches={accumulate} and data.tokens_per_step="
                f"{data.tokens_per_step} both set the step size: set only one of them"
            )
        return accumulate
    return data_plan(data)[1]
