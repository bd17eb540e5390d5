"""A spectral baseline beside the audio classifier, on the same clips: does the model beat it?

Logistic regression (scikit-learn) on log-mel spectra of exactly the clips `seqmodels fit
task=audio_classify` reads (the same files, split, sample rate, clip length and mu-law
quantisation; training clips taken whole, not cropped at random): per clip, the mean and
standard deviation of every mel band over the clip, and, so that the order of sounds counts
too, the mean of every band over each of `--segments` equal parts of the clip. Scores it on the
test clips, and the trained run on the same test clips, in one table.

    python benchmarks/audio_classify_baseline.py [--run RUN] [--segments 8] [key=value ...]

key=value arguments are the task's overrides (e.g. data.root=DIR), as for `seqmodels fit`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from kmer_baseline import score
from rich.console import Console
from rich.table import Table
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torchaudio.transforms import MelSpectrogram

from seqmodels.cli import compose_config
from seqmodels.data.audio.datasets import ClipDataset
from seqmodels.data.audio.mulaw import mu_law_decode
from seqmodels.tasks.registry import task_module
from seqmodels.training.fit import evaluate


def clip_features(tokens: torch.Tensor, mel: MelSpectrogram, segments: int) -> np.ndarray:
    """Log-mel statistics of one clip: band means and deviations, and band means per segment."""
    spectrum = torch.log(mel(mu_law_decode(tokens).float()) + 1e-6)  # (bands, frames)
    parts = [part.mean(dim=1) for part in spectrum.chunk(segments, dim=1)]
    return torch.cat([spectrum.mean(dim=1), spectrum.std(dim=1), *parts]).numpy()


def split_features(datamodule, split: str, mel: MelSpectrogram, segments: int):
    infos, labels = datamodule.files[split]
    # every clip whole (the middle of a longer file), as validation and test read them
    dataset = ClipDataset(infos, labels, datamodule.rate, datamodule.clip_len, False, 0)
    x = np.stack([clip_features(dataset[i]["tokens"], mel, segments) for i in range(len(dataset))])
    return x, np.array(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained run (default: runs/<task>/latest)")
    parser.add_argument("--segments", type=int, default=8, help="time segments per clip")
    parser.add_argument("overrides", nargs="*", help="task configuration overrides (key=value)")
    args = parser.parse_args()
    cfg = compose_config(["task=audio_classify", *args.overrides])
    datamodule = task_module(cfg.task.name).build_datamodule(cfg)
    datamodule.prepare_data()
    rate = datamodule.rate
    n_fft = 1 << round(np.log2(rate * 0.064))  # frames of about 64 ms, half overlapping
    mel = MelSpectrogram(rate, n_fft=n_fft, hop_length=n_fft // 2, n_mels=32)
    x_train, y_train = split_features(datamodule, "train", mel, args.segments)
    x_test, y_test = split_features(datamodule, "test", mel, args.segments)
    scaler = StandardScaler().fit(x_train)
    classifier = LogisticRegression(max_iter=5000, C=0.1).fit(scaler.transform(x_train), y_train)
    rows = {
        f"log-mel statistics ({x_train.shape[1]} features) + logistic regression": score(
            y_test, classifier.predict_proba(scaler.transform(x_test))
        )
    }
    run = args.run or Path(cfg.run_root) / cfg.task.name / "latest"
    if run.exists():
        trained = compose_config(["task=audio_classify", f"ckpt={run}", *args.overrides])
        scored = evaluate(trained, "test")
        rows[f"seqmodels ({run.resolve().name})"] = {
            name: scored[f"test/{name}"] for name in ("acc", "f1", "mcc")
        }
    table = Table(title=f"{cfg.task.name}: {len(y_test)} test clips, {len(set(y_train))} classes")
    for column in ("model", "test acc", "macro-F1", "MCC"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, metrics in rows.items():
        table.add_row(name, *(f"{metrics[m]:.3f}" for m in ("acc", "f1", "mcc")))
    Console().print(table)


if __name__ == "__main__":
    main()
