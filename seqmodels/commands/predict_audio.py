"""Classify audio files with a trained audio classifier (`seqmodels predict clip.wav ...`).

Each file is cut into clips of the model's length (the last one moved back to end at the file's
end; a shorter file is one clip padded with silence, as in training) and a file's probabilities
are the mean of its clips'. Writes <out>/audio_predictions.tsv (file, seconds, clips, predicted
label, one probability column per label) under a temporary name and renames it when complete, so
a killed run never leaves a partial table; every file is checked before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from seqmodels.commands.options import PositiveInt
from seqmodels.data.audio.datasets import fit_clip
from seqmodels.data.audio.io import AudioInfo, audio_info, read_audio
from seqmodels.data.audio.mulaw import mu_law_encode
from seqmodels.data.dna.windows import tile_record
from seqmodels.io.atomic import atomic_write
from seqmodels.io.model_card import ModelCard
from seqmodels.io.tables import print_table
from seqmodels.models.pretrained import load_pretrained
from seqmodels.training.runs import latest_run

TABLE_NAME = "audio_predictions.tsv"


def _clips(info: AudioInfo, rate: int, length: int) -> torch.Tensor:
    """(clips, length) tokens covering the file."""
    total = info.frames_at(rate)
    if total <= length:
        return fit_clip(info, rate, length, None)[None]
    starts = [start for start, _ in tile_record(total, length, length)]
    return torch.stack([mu_law_encode(read_audio(info, rate, s, length)) for s in starts])


@torch.inference_mode()
def classify_files(
    model: torch.nn.Module, card: ModelCard, files: list[AudioInfo], batch_size: int
) -> list[tuple[int, np.ndarray]]:
    """(clips, mean class probabilities) for each file."""
    rate, length = card.sample_rate, card.seq_len
    results = []
    for file in files:
        clips = _clips(file, rate, length)
        probs = torch.cat(
            [model(batch).float().softmax(-1) for batch in clips.split(batch_size)]
        )  # (clips, classes)
        results.append((len(clips), probs.mean(0).numpy()))
    return results


def predict_command(
    files: list[str],
    ckpt: Path | None = None,
    out: Path = Path("predictions"),
    batch_size: PositiveInt = 16,
    run_root: Path = Path("runs"),
) -> Path:
    """`seqmodels predict` for audio: classify the files, write the table, print a summary.
    Without ckpt, the newest audio_classify run under run_root."""
    model, card = load_pretrained(ckpt or latest_run(run_root, "audio_classify"))
    card.require(kind="classifier", alphabet="mulaw", what="predicting audio files")
    infos = [audio_info(path) for path in files]  # every file checked before any output
    results = classify_files(model, card, infos, batch_size)

    names = card.class_names
    header = ["file", "seconds", "clips", "predicted", *(f"p_{name}" for name in names)]
    rows = ["\t".join(header) + "\n"]
    table = Table(title=f"predictions ({card.seconds:g} s clips)")
    for column in ("file", "seconds", "predicted", "probability"):
        table.add_column(column, justify="left" if column in ("file", "predicted") else "right")
    for file, (clips, probs) in zip(infos, results, strict=True):
        predicted, seconds = names[int(probs.argmax())], file.frames / file.rate
        cells = [str(file.path), f"{seconds:.3f}", str(clips), predicted]
        rows.append("\t".join([*cells, *(f"{p:.6f}" for p in probs)]) + "\n")
        table.add_row(str(file.path), f"{seconds:.2f}", predicted, f"{probs.max():.3f}")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / TABLE_NAME
    atomic_write(path, lambda tmp: tmp.write_text("".join(rows)))
    print_table(table)
    Console().print(f"wrote {path}")
    return path
