"""Lightning checkpoints that survive a kill and never run code.

- `AtomicCheckpointIO`: Lightning's checkpoint writer and reader, made of
  seqmodels.io.atomic' atomic writes and weights-only reads. (Lightning's own writer
  stages a checkpoint in the system temp folder and *copies* it into place when that is another
  file system, as it often is on a cluster: a kill during the copy leaves half a file.)
- `StepCheckpoint`: checkpoints/last.ckpt every N optimiser steps, so a killed run loses at most
  about N steps (ModelCheckpoint saves best.ckpt at validation; last.ckpt too when this is off).
- `RngState`: the random number generators (torch, CUDA, numpy, random) travel in checkpoints,
  so a resumed run draws what the uninterrupted one would.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from seqmodels.errors import UserError
from seqmodels.io.atomic import atomic_write, read_checkpoint


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O: atomic writes, weights-only reads (whatever the caller asks)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))

    def load_checkpoint(
        self, path: str | Path, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return read_checkpoint(path, map_location if map_location is not None else "cpu")


class StepCheckpoint(L.Callback):
    """Save `path` (checkpoints/last.ckpt) about every `every_n_steps` optimiser steps, and at
    trainer.max_steps. Always mid-epoch: after a batch that took an optimiser step and is not
    its epoch's last (a save due then waits one batch), since Lightning resumes exactly (data,
    metrics, logged steps) only from such points."""

    def __init__(self, path: str | Path, every_n_steps: int) -> None:
        if every_n_steps < 1:
            raise UserError(
                f"checkpoint.every_n_steps={every_n_steps} must be at least 1 (or null: "
                "checkpoints at validation only)"
            )
        self.path = Path(path)
        self.every_n_steps = every_n_steps
        self._saved_at = self._previous = 0

    def on_train_start(self, trainer: L.Trainer, pl_module) -> None:
        self._saved_at = self._previous = trainer.global_step  # resumed runs start later

    def on_train_batch_end(self, trainer: L.Trainer, pl_module, outputs, batch, batch_idx) -> None:
        step, stepped = trainer.global_step, trainer.global_step != self._previous
        self._previous = step
        if trainer.fast_dev_run or not stepped:  # mid-accumulation: gradients are not saved
            return
        final = 0 < trainer.max_steps <= step  # last.ckpt is the end of training: resume=RUN
        if not final:  # with a larger trainer.max_steps continues from there
            if step // self.every_n_steps <= self._saved_at // self.every_n_steps:
                return
            batches = trainer.num_training_batches
            if batches > 1 and batch_idx + 1 >= batches:  # an epoch's last batch: wait a batch
                return
        self._saved_at = step
        for logger in trainer.loggers:  # metrics up to here on disk before the state that has them
            logger.save()
        # the full state (optimiser, loops, callbacks): what resume=RUN continues from
        trainer.save_checkpoint(self.path, weights_only=False)


def _numpy_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "name": name,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def _set_numpy_state(state: dict[str, Any]) -> None:
    keys = state["keys"].numpy().astype(np.uint32)
    np.random.set_state((state["name"], keys, state["pos"], state["has_gauss"], state["cached"]))


class RngState(L.Callback):
    """Saves and restores the global random number generators with each checkpoint (data only:
    tensors and numbers, so weights-only loading reads them)."""

    def state_dict(self) -> dict[str, Any]:
        version, internal, gauss = random.getstate()
        state = {
            "torch": torch.get_rng_state(),
            "numpy": _numpy_state(),
            "python": {"version": version, "internal": list(internal), "gauss": gauss},
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        _set_numpy_state(state["numpy"])
        python = state["python"]
        random.setstate((python["version"], tuple(python["internal"]), python["gauss"]))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
