"""`seqmodels export`: a run's model as config.json + model.safetensors, safe to share."""

from __future__ import annotations

from pathlib import Path

from seqmodels.errors import UserError
from seqmodels.models.pretrained import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_pretrained,
    resolve_model_path,
    save_pretrained,
)
from seqmodels.training.runs import latest_run


def export_command(
    ckpt: Path | None = None,
    out: Path | None = None,
    task: str | None = None,
    run_root: Path = Path("runs"),
) -> Path:
    """`seqmodels export ckpt=RUN_OR_CKPT out=DIR`: the model as config.json + model.safetensors
    (weights only, no pickle: safe to share and to load from anyone). `task=NAME` instead of
    ckpt exports the newest run of that task under run_root."""
    if not (ckpt or task) or not out:
        raise UserError(
            "export needs ckpt=RUN_DIR_OR_CKPT (a run, its checkpoints/*.ckpt or a model/ "
            "folder; or task=NAME for its latest run) and out=DIR (where config.json and "
            "model.safetensors go)"
        )
    ckpt = ckpt or latest_run(run_root, task)
    model, card = load_pretrained(ckpt)
    out_dir = Path(out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"out={out}: exists and is not a directory")
    others = sorted(
        p.name
        for p in (out_dir.iterdir() if out_dir.is_dir() else [])
        if p.name not in (CONFIG_NAME, WEIGHTS_NAME)
    )
    if others:
        raise UserError(
            f"out={out}: the directory holds other files ({', '.join(others[:3])}): "
            "choose an empty or new directory"
        )
    save_pretrained(out_dir, model, card)
    print(f"exported {resolve_model_path(ckpt)} to {out_dir}/ ({CONFIG_NAME}, {WEIGHTS_NAME})")
    return out_dir
