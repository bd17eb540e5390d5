"""Sequence-length warmup (HyenaDNA, Mamba): train on short windows first, then longer ones.

Training starts at `min_len` bases and doubles the length every `epochs_per_stage` epochs until
it reaches `max_len`; the batch halves as the length doubles, so every step sees the same number
of tokens (batch_size · max_len). Short windows early make the first steps cheap and stable;
the model's loss is per token, so the stages are comparable. min_len = max_len turns it off.

The callback sets the shape of the training batches at the start of each epoch through the
dataset's `set_shape(rows, length)` (seqmodels.data.dna.pretrain.ShapedBatches), and logs
`train/seq_len`.
"""

from __future__ import annotations

import lightning as L

from seqmodels.errors import UserError


def warmup_stages(min_len: int, max_len: int, batch_size: int) -> list[tuple[int, int]]:
    """[(rows, length), ...]: lengths min_len, 2·min_len, … max_len; tokens per batch fixed."""
    if not 1 <= min_len <= max_len:
        raise UserError(f"warmup.min_len={min_len} must be between 1 and data.seq_len={max_len}")
    stages = []
    length = min_len
    while True:
        stages.append((max(1, batch_size * max_len // length), length))
        if length == max_len:
            return stages
        length = min(2 * length, max_len)


class SequenceLengthWarmup(L.Callback):
    def __init__(
        self, min_len: int, max_len: int, batch_size: int, epochs_per_stage: int = 1
    ) -> None:
        if epochs_per_stage < 1:
            raise UserError(f"warmup.epochs_per_stage must be at least 1, got {epochs_per_stage}")
        self.stages = warmup_stages(min_len, max_len, batch_size)
        self.epochs_per_stage = epochs_per_stage

    def shape(self, epoch: int) -> tuple[int, int]:
        """(rows, length) of the training batches in this epoch."""
        return self.stages[min(epoch // self.epochs_per_stage, len(self.stages) - 1)]

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # a run resumed mid-epoch does not start that epoch again (no on_train_epoch_start)
        trainer.train_dataloader.dataset.set_shape(*self.shape(trainer.current_epoch))

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.train_dataloader.dataset.set_shape(*self.shape(trainer.current_epoch))

    def on_train_batch_start(self, trainer: L.Trainer, pl_module, batch, batch_idx) -> None:
        # logged with every batch (its epoch mean is the length), so that a resumed epoch has it
        length = float(self.shape(trainer.current_epoch)[1])
        pl_module.log("train/seq_len", length, on_step=False, on_epoch=True)
