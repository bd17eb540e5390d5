"""What a run does when its training loss or gradients stop being finite (`nonfinite_loss=`).

- `stop` (default): training ends before the bad step is taken, with one line that names the
  step; the checkpoints on disk were all written before it, so `resume=RUN` (with a lower
  learning rate, say) continues from the last good state.
- `skip`: the step is dropped: no parameter changes, and the run goes on with the next batch
  (the learning-rate schedule still advances). A run that keeps skipping has a real problem:
  after `max_skips` skipped steps in a row it stops as with `stop`.

Every rank takes the same decision (one all-reduce of a flag per step), so that no rank waits
forever on another that stopped.
"""

from __future__ import annotations

import math

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn

from seqmodels.errors import UserError

MODES = ("stop", "skip")


class NonFiniteLossGuard(L.Callback):
    """Checks the loss before backward and the gradients before the optimiser step."""

    def __init__(self, mode: str = "stop", max_skips: int = 100) -> None:
        if mode not in MODES:
            raise UserError(f"nonfinite_loss={mode!r}: choose one of {', '.join(MODES)}")
        self.mode = mode
        self.max_skips = max_skips
        self.skipped = 0  # steps skipped in a row
        self._bad_loss: str | None = None  # a non-finite loss seen since the last step

    def _stop(self, trainer: L.Trainer, what: str) -> None:
        run = f" in {trainer.default_root_dir}" if trainer.default_root_dir else ""
        raise UserError(
            f"training stopped at step {trainer.global_step} (epoch {trainer.current_epoch}): "
            f"{what}; the checkpoints{run} were saved before it: resume=RUN continues from the "
            "last good one (try a lower optim.lr), or nonfinite_loss=skip drops such steps"
        )

    def on_before_backward(self, trainer: L.Trainer, pl_module, loss: torch.Tensor) -> None:
        value = float(loss.detach().float().sum())
        bad = trainer.strategy.reduce_boolean_decision(not math.isfinite(value), all=False)
        if not bad:
            return
        what = "is not finite in another process" if math.isfinite(value) else f"is {value}"
        if self.mode == "stop":
            self._stop(trainer, f"the training loss {what}")
        self._bad_loss = what

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module, optimizer) -> None:
        finite = True
        # fp16's gradient scaler skips overflowing steps itself and lowers its scale
        if getattr(trainer.precision_plugin, "scaler", None) is None:
            grads = [p.grad for g in optimizer.param_groups for p in g["params"]]
            flags = [torch.isfinite(grad).all() for grad in grads if grad is not None]
            finite = bool(torch.stack(flags).all()) if flags else True
        bad = self._bad_loss is not None or not finite
        bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        what = (
            f"the training loss {self._bad_loss}"
            if self._bad_loss is not None
            else "a gradient is not finite"
        )
        self._bad_loss = None
        if not bad:
            self.skipped = 0
            return
        if self.mode == "stop":
            self._stop(trainer, what)
        self.skipped += 1
        if self.skipped > self.max_skips:
            self._stop(trainer, f"{self.skipped} steps in a row were not finite ({what})")
        for group in optimizer.param_groups:  # AdamW leaves parameters without a gradient alone
            for param in group["params"]:
                param.grad = None
        rank_zero_warn(f"step {trainer.global_step} skipped: {what} (nonfinite_loss=skip)")
