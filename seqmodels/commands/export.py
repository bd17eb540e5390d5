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

EXPORT_OPTIONS = ("ckpt", "out")


def export_command(ckpt: str | None = None, out: str | None = None) -> Path:
    """`seqmodels export ckpt=RUN_OR_CKPT out=DIR`: the model as config.json + model.safetensors
    (weights only, no pickle: safe to share and to load from anyone)."""
    if not ckpt or not out:
        raise UserError(
            "export needs ckpt=RUN_DIR_OR_CKPT (a run, its checkpoints/*.ckpt or a model/ "
            "folder) and out=DIR (where config.json and model.safetensors go)"
        )
    model, info = load_pretrained(ckpt)
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
    save_pretrained(out_dir, model, info)
    print(f"exported {resolve_model_path(ckpt)} to {out_dir}/ ({CONFIG_NAME}, {WEIGHTS_NAME})")
    return out_dir
