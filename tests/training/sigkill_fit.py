"""`python sigkill_fit.py ARGS...`: the seqmodels command line, killed by SIGKILL at a chosen
point (for the crash tests; SIGKILL cannot be caught, so nothing gets to clean up):

KILL_AT_STEP=N: at the end of the training batch that took optimiser step N.
KILL_IN_SAVE=N: half-way through writing the N-th last.ckpt (its first half is on disk).
"""

import io
import os
import signal
import sys

import torch

from seqmodels.cli import main
from seqmodels.tasks.classification import ClassificationTask

KILL_AT_STEP = int(os.environ.get("KILL_AT_STEP", "0"))
KILL_IN_SAVE = int(os.environ.get("KILL_IN_SAVE", "0"))
_real_save = torch.save
_saves = 0


def _save(obj, f, *args, **kwargs):
    global _saves
    if isinstance(f, str | os.PathLike) and "last.ckpt" in os.fspath(f):
        _saves += 1
        if _saves == KILL_IN_SAVE:
            buffer = io.BytesIO()
            _real_save(obj, buffer, *args, **kwargs)
            data = buffer.getvalue()
            with open(f, "wb") as out:
                out.write(data[: len(data) // 2])
                out.flush()
                os.fsync(out.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
    return _real_save(obj, f, *args, **kwargs)


def _on_train_batch_end(self, outputs, batch, batch_idx):
    if self.trainer.global_step == KILL_AT_STEP:
        os.kill(os.getpid(), signal.SIGKILL)


torch.save = _save
if KILL_AT_STEP:
    ClassificationTask.on_train_batch_end = _on_train_batch_end
sys.exit(main(sys.argv[1:]))
