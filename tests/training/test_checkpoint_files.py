"""The Lightning side of checkpoints: random state in them, and reads that are weights-only
whatever Lightning asks for."""

import random

import numpy as np
import pytest
import torch

from seqmodels.errors import UserError
from seqmodels.training.checkpointing import AtomicCheckpointIO, RngState


def draws() -> tuple:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def test_random_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    io = AtomicCheckpointIO()
    io.save_checkpoint({"rng": RngState().state_dict()}, tmp_path / "c.ckpt")
    expected = draws()
    assert draws() != expected  # the generators moved on
    RngState().load_state_dict(io.load_checkpoint(tmp_path / "c.ckpt")["rng"])
    assert draws() == expected


class RunsCode:
    def __reduce__(self):
        return print, ("the code ran",)


def test_lightning_cannot_ask_for_an_unsafe_load(tmp_path, capsys):
    torch.save({"state_dict": {}, "x": RunsCode()}, tmp_path / "c.ckpt")
    with pytest.raises(UserError, match="refused to load"):
        AtomicCheckpointIO().load_checkpoint(tmp_path / "c.ckpt", weights_only=False)
    assert "the code ran" not in capsys.readouterr().out
