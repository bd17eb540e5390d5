"""Run directories: runs/<task>/<YYYYmmdd-HHMMSS>/ and the `latest` link beside them.

Several processes of one run (DDP) must write into one directory. Lightning's own launcher
starts the other processes from the first, which passes its directory on in SEQMODELS_RUN_DIR.
Processes started together by torchrun or SLURM cannot be told: they name the directory after
the job instead (runs/<task>/slurm-<job>.<step>, runs/<task>/torchrun-<rdzv id>), or take
SEQMODELS_RUN_DIR from the job script.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


RUN_DIR_ENV = "SEQMODELS_RUN_DIR"


def is_launch_rank_zero() -> bool:
    """Whether this process is the first of its run, as far as the launcher's environment says
    (before Lightning has set up distributed training)."""
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK"):
        if os.environ.get(name, "0") not in ("", "0"):
            return False
    return True


def _job_run_name() -> str | None:
    """A name every process of a job started by SLURM or torchrun (or by hand, with RANK and
    WORLD_SIZE) agrees on; None for a single process or one Lightning's launcher started."""
    tasks = os.environ.get("SLURM_NTASKS", "1")
    if tasks.isdigit() and int(tasks) > 1 and os.environ.get("SLURM_JOB_ID"):
        return f"slurm-{os.environ['SLURM_JOB_ID']}.{os.environ.get('SLURM_STEP_ID', '0')}"
    world = os.environ.get("WORLD_SIZE", "1")
    external = "RANK" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ
    if not (world.isdigit() and int(world) > 1 and external):
        return None
    if os.environ.get("TORCHELASTIC_RUN_ID", "none") not in ("", "none"):
        return f"torchrun-{os.environ['TORCHELASTIC_RUN_ID']}"
    raise UserError(
        f"this is one of {world} processes, and they need one run directory: start them with "
        "torchrun --rdzv-id=NAME (or --standalone), or set SEQMODELS_RUN_DIR=runs/<task>/<name>"
    )


def run_directory(root: str | Path, task: str) -> Path:
    """This process's run directory for a new run: SEQMODELS_RUN_DIR when set, the job's when
    several processes were launched together, otherwise a fresh runs/<task>/<time>."""
    shared = os.environ.get(RUN_DIR_ENV)
    name = None if shared else _job_run_name()
    if shared or name:
        run = Path(shared) if shared else Path(root) / task / name
        run.mkdir(parents=True, exist_ok=True)
        return run
    return new_run_dir(root, task)


@contextmanager
def sharing_run_dir(run: Path) -> Iterator[None]:
    """Processes started inside this block (Lightning's DDP launcher) write to `run` too."""
    before = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(run.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = before
