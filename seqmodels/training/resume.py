"""`seqmodels fit resume=RUN_DIR [key=value ...]`: continue a killed or stopped run where it was.

The run's own config.yaml is the configuration (the defaults may have changed since), with the
command line's overrides applied on top: more steps (`trainer.max_steps=`), other devices or
workers. What decides the weights' shapes or the data's split (task, model, head, seed, ...)
cannot change: that would be another run. Training continues from checkpoints/last.ckpt with
its step, optimiser, schedule, data position and random state (seqmodels.training.checkpointing),
writing into the same directory; metrics.csv keeps its rows up to that step.
"""

from __future__ import annotations

import csv
import io
from contextlib import nullcontext
from pathlib import Path

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from seqmodels.errors import UserError
from seqmodels.io.atomic import atomic_write, read_checkpoint
from seqmodels.overrides import (
    MISSING,
    check_choices,
    check_value,
    parse,
    select,
    unknown_key_message,
)
from seqmodels.training.choices import config_choices

FIXED = ("task", "model", "head", "seed", "run_root", "init_from", "finetune", "resume")
LAST = Path("checkpoints") / "last.ckpt"


def resume_dir(path: str | Path) -> Path:
    """The run directory `path` names (the run itself, or a checkpoint inside it)."""
    path = Path(path).expanduser()
    if path.is_file() and path.parent.name == "checkpoints":
        path = path.parent.parent
    if not path.is_dir():
        raise UserError(f"resume={path}: no such run directory")
    if not (path / "config.yaml").is_file():
        raise UserError(f"resume={path}: not a run directory (no config.yaml in it)")
    if not (path / LAST).is_file():
        raise UserError(
            f"resume={path}: no {LAST} to resume from (the run stopped before its first "
            "checkpoint): start it again with `seqmodels fit`"
        )
    return path.resolve()


def resume_config(overrides: list[str]) -> DictConfig:
    """The configuration of `fit resume=RUN key=value ...`: the run's config.yaml + overrides."""
    parsed = parse(overrides)
    where = [o.value() for o in parsed if o.key_or_group == "resume"][-1]
    run = resume_dir(str(where))
    try:
        cfg = OmegaConf.load(run / "config.yaml")
    except (OSError, OmegaConfBaseException) as error:
        raise UserError(f"{run / 'config.yaml'}: unreadable ({error})") from None
    if not isinstance(cfg, DictConfig) or "task" not in cfg:
        raise UserError(f"{run / 'config.yaml'}: not a seqmodels run configuration")
    OmegaConf.set_struct(cfg, True)
    for override in parsed:
        key = override.key_or_group
        if key == "resume":
            continue
        if key.split(".")[0] in FIXED:
            raise UserError(
                f"{override.input_line}: a resumed run keeps its {key.split('.')[0]} "
                f"({run / 'config.yaml'}); start a new run to change it (init_from={run} starts "
                "one from its weights)"
            )
        kind = override.type.name
        before = select(cfg, key)
        if kind == "DEL":
            raise UserError(f"{override.input_line}: a resumed run cannot drop keys")
        if kind == "CHANGE" and before is MISSING:
            raise UserError(unknown_key_message(cfg, key))
        value = override.value()
        if kind == "CHANGE":
            check_value(key, value, before)
        with open_dict(cfg) if kind != "CHANGE" else nullcontext():
            OmegaConf.update(cfg, key, value, merge=False)
    check_choices(cfg, config_choices())
    with open_dict(cfg):
        cfg.resume = str(run)
    return cfg


def last_checkpoint_step(run: Path) -> int:
    """The global step stored in the run's last.ckpt (read as data only)."""
    return int(read_checkpoint(run / LAST).get("global_step", 0))


class _ContinuedWriter(ExperimentWriter):
    """metrics.csv, kept: a run resumed from the checkpoint of step S keeps the rows logged
    before it (their step, the optimiser steps done before the batch or validation that logged
    them, is below S) and appends the rest again below them."""

    def __init__(self, log_dir: str, keep_until_step: int | None) -> None:
        self.keep_until_step = keep_until_step
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:  # Lightning's deletes metrics.csv
        path = Path(self.metrics_file_path)
        if self.keep_until_step is None or not path.is_file():
            return
        text = path.read_text()
        if not text.endswith("\n"):  # the kill cut the last row short
            text = text[: text.rfind("\n") + 1]
        reader = csv.DictReader(io.StringIO(text, newline=""))
        keys = list(reader.fieldnames or [])
        rows = [row for row in reader if self._keep(row)]

        def write(tmp: Path) -> None:
            with tmp.open("w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=keys)
                writer.writeheader()
                writer.writerows(rows)

        atomic_write(path, write)
        self.metrics_keys = sorted(keys)

    def _keep(self, row: dict[str, str]) -> bool:
        if None in row or None in row.values():  # more or fewer fields than the header
            return False
        try:
            return int(float(row["step"])) < self.keep_until_step
        except (KeyError, TypeError, ValueError):
            return False


class RunLogger(CSVLogger):
    """The run's metrics.csv (Lightning's CSVLogger), continued rather than replaced on resume."""

    def __init__(self, run: Path, keep_until_step: int | None = None) -> None:
        super().__init__(run, name="", version="")
        self._keep_until_step = keep_until_step

    @property
    @rank_zero_experiment
    def experiment(self) -> _ContinuedWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuedWriter(self.log_dir, self._keep_until_step)
        return self._experiment
