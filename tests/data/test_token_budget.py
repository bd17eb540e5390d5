"""Batches capped by tokens per forward pass, accumulated to a token budget per optimiser step."""

import pytest
from omegaconf import OmegaConf

from seqmodels.cli import compose_config
from seqmodels.data.token_budget import accumulation, batch_plan
from seqmodels.errors import UserError


@pytest.mark.parametrize(
    "batch_size, seq_len, max_batch_tokens, tokens_per_step, expected",
    [
        (32, 1024, 65536, None, (32, 1)),  # the default run: unchanged
        (32, 16384, 65536, None, (4, 8)),  # same 32 windows per step, 4 at a time
        (32, 2**20, 65536, None, (1, 32)),  # batch size 1, accumulated
        (32, 2**20, 65536, 2**22, (1, 4)),  # a budget of four windows per step
        (32, 2**20, 65536, 1000, (1, 1)),  # at least one window per step
        (2, 16384, 65536, 2**17, (2, 4)),  # the batch size caps the batch too
        (32, 16384, None, 65536, (4, 1)),  # no memory cap: a budget of 4 windows, one batch
        (32, 16384, None, None, (32, 1)),  # neither: data.batch_size, as before
        (3, 1000, 2500, None, (2, 2)),  # 3 windows per step, in batches of 2: one more window
    ],
)
def test_batch_plan(batch_size, seq_len, max_batch_tokens, tokens_per_step, expected):
    assert batch_plan(batch_size, seq_len, max_batch_tokens, tokens_per_step) == expected


def test_batch_plan_rejects_bad_values():
    with pytest.raises(UserError, match="data.tokens_per_step"):
        batch_plan(32, 1024, None, 0)
    with pytest.raises(UserError, match="data.max_batch_tokens"):
        batch_plan(32, 1024, -1, None)


def test_accumulation_from_the_task_config():
    long = ["task=dna_species", "data.seq_len=1048576", "data.train_seq_len=null"]
    cfg = compose_config([*long, "data.batch_size=32"])
    assert accumulation(cfg, 1) == 32  # 32 windows per step, one at a time
    default = compose_config(["task=dna_species"])
    assert accumulation(default, 1) == 1
    # the trainer's own setting wins when no budget is given, and a conflict is an error
    assert accumulation(default, 4) == 4
    cfg = compose_config([*long, "data.tokens_per_step=2097152"])
    assert accumulation(cfg, 1) == 2
    with pytest.raises(UserError, match="set only one"):
        accumulation(cfg, 4)
    # a task without the options keeps the trainer's value
    assert accumulation(OmegaConf.create({"data": {"seq_len": 8, "batch_size": 2}}), 3) == 3
