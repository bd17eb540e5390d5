"""`python ddp_record_fit.py ARGS...`: the seqmodels command line, with every classifier batch
recorded: each process appends one line per sequence, `<stage> <epoch> <fingerprint>`, to
$RECORD_DIR/rank<global rank>.txt (for the DDP test: which rank saw which windows)."""

import hashlib
import os
import sys
from pathlib import Path

from seqmodels.cli import main
from seqmodels.tasks.classification import ClassificationTask

_original = ClassificationTask.model_step


def fingerprint(tokens, label) -> str:
    return hashlib.sha1(tokens.numpy().tobytes()).hexdigest()[:16] + f":{int(label)}"


def _model_step(self, batch):
    stage = "train" if self.training else self.trainer.state.stage.value
    path = Path(os.environ["RECORD_DIR"]) / f"rank{self.global_rank}.txt"
    with path.open("a") as out:
        for tokens, label in zip(batch["tokens"], batch["label"], strict=True):
            out.write(f"{stage} {self.current_epoch} {fingerprint(tokens, label)}\n")
    return _original(self, batch)


if __name__ == "__main__":
    ClassificationTask.model_step = _model_step
    sys.exit(main(sys.argv[1:]))
