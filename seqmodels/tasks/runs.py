"""Run directories: runs/<task>/<YYYYmmdd-HHMMSS>/ and the `latest` link beside them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from seqmodels.errors import UserError


def new_run_dir(root: str | Path, task: str) -> Path:
    """A fresh, empty run directory named after the current time."""
    base = Path(root) / task
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ["", *(f"-{i}" for i in range(1, 100))]:
        run = base / f"{stamp}{suffix}"
        try:
            run.mkdir()
            return run
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run directory under {base}")


def mark_latest(run: Path) -> None:
    """Point runs/<task>/latest at `run`, replacing the old link in one step."""
    link = run.parent / "latest"
    tmp = run.parent / f".latest.tmp{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run.name, target_is_directory=True)
    os.replace(tmp, link)


def latest_run(root: str | Path, task: str) -> Path:
    """The newest finished run of a task, or a clear error saying how to make one."""
    link = Path(root) / task / "latest"
    if not link.exists():
        raise UserError(
            f"no trained {task} model found at {link}: train one with "
            f"`seqmodels fit task={task}` or pass ckpt=RUN_DIR"
        )
    return link.resolve()
