"""The pictures a run leaves in plots/: training curves, the confusion matrix of a classifier and
the predicted-against-true scatter of a regressor."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from seqmodels.io.atomic import atomic_write  # noqa: E402


def save(fig, out: Path, dpi: int = 120) -> Path:
    """Lay out, write (atomically, as PNG) and close a figure."""
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
    plt.close(fig)
    return out


def read_metrics(path: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv (Lightning's CSVLogger) → {key: [(step, value), ...]}."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            step = int(row.get("step") or 0)
            for key, value in row.items():
                if key not in ("step", "epoch") and value not in (None, ""):
                    series[key].append((step, float(value)))
    return dict(series)


def plot_training_curves(metrics_csv: Path, out: Path) -> Path | None:
    """Loss and each stage's metrics against the step, one panel per quantity."""
    if not metrics_csv.exists():
        return None
    series = read_metrics(metrics_csv)
    names = sorted({key.split("/", 1)[-1] for key in series if "/" in key} - {"lr"})
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for stage in ("train", "val", "test"):
            points = series.get(f"{stage}/{name}") or series.get(f"{stage}/{name}_epoch")
            if points:
                steps, values = zip(*points, strict=True)
                style = "-" if len(points) > 1 else "o"
                ax.plot(steps, values, style, label=stage, alpha=0.5 if stage == "train" else 1)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
    return save(fig, out)


def plot_confusion_matrix(
    matrix: np.ndarray, class_names: list[str], out: Path, title: str
) -> Path:
    """Rows are true classes, columns predictions; cells show counts, colour the row fraction."""
    matrix = np.asarray(matrix)
    fractions = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.7 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            color = "white" if fractions[i, j] > 0.5 else "black"
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=color)
    fig.colorbar(image, ax=ax, fraction=0.046, label="fraction of true class")
    return save(fig, out)


def plot_scatter(
    preds: np.ndarray, targets: np.ndarray, names: list[str], out: Path, title: str
) -> Path:
    """Predicted against true values (n, targets), one panel per target, with the diagonal
    (a perfect prediction) and each target's Pearson r in its title."""
    preds, targets = np.asarray(preds, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4), squeeze=False)
    for i, (ax, name) in enumerate(zip(axes[0], names, strict=True)):
        x, y = targets[:, i], preds[:, i]
        ax.scatter(x, y, s=8, alpha=0.5, linewidths=0)
        low, high = min(x.min(), y.min()), max(x.max(), y.max())
        ax.plot([low, high], [low, high], color="grey", linewidth=1)
        r = np.corrcoef(x, y)[0, 1] if len(x) > 1 and x.std() > 0 and y.std() > 0 else np.nan
        ax.set_title(f"{name} (r = {r:.3f}, n = {len(x)})")
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return save(fig, out)


def plot_spectrogram(audio: np.ndarray, rate: int, out: Path, title: str) -> Path:
    """Log power (dB, 80 dB range) of a waveform: frequency up to rate/2 against time."""
    n_fft, hop = 512, 128
    padded = np.pad(np.asarray(audio, dtype=np.float64), (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * np.hanning(n_fft)
    power_db = 10 * np.log10(np.abs(np.fft.rfft(frames, axis=-1)) ** 2 + 1e-10)  # (frames, bins)
    fig, ax = plt.subplots(figsize=(8, 3))
    top = power_db.max()
    extent = (0, len(audio) / rate, 0, rate / 2 / 1000)
    image = ax.imshow(
        power_db.T,
        origin="lower",
        aspect="auto",
        extent=extent,
        cmap="magma",
        vmin=top - 80,
        vmax=top,
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="dB")
    return save(fig, out, dpi=100)
