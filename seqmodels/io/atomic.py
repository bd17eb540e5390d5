"""Files that survive a kill, and checkpoints that cannot run code (no Lightning import here:
prediction and `seqmodels.load` use it).

- `atomic_write`: a file is written under a temporary name in its own folder, flushed to disk,
  then renamed over the old one, so a process killed at any moment leaves either the previous
  good file or the new one, never half of one. Checkpoints, config.yaml and exported models are
  all written this way.
- `read_checkpoint`: `torch.load(weights_only=True)` with errors a user can read; a checkpoint
  crafted to run code when unpickled is refused before any of it runs.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from seqmodels.errors import UserError

TMP_MARK = ".tmp-"  # temporary files are named .<name>.tmp-<pid>


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, fsync it, then rename it to `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed writers left in `folder`; return them."""
    folder = Path(folder)
    stale = [p for p in folder.glob(f".*{TMP_MARK}*") if p.is_file()] if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def read_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, loaded as data only (tensors, numbers, strings, containers)."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0]
        raise UserError(
            f"{path}: refused to load: the checkpoint holds more than weights ({first}); "
            "only load checkpoints from sources you trust, exported with seqmodels"
        ) from None
    except FileNotFoundError:
        raise UserError(f"{path}: no such checkpoint") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{path}: not a readable checkpoint ({first})") from None
    if not isinstance(checkpoint, dict):
        raise UserError(f"{path}: not a seqmodels checkpoint (no dictionary of weights inside)")
    return checkpoint
