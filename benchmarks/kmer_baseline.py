"""A k-mer baseline beside the deep model, on the same splits and windows.

Trains logistic regression (scikit-learn) on k-mer spectra (both strands, so the features do not
depend on orientation) of the training windows the model saw, scores it on the task's fixed test
windows, and scores a trained seqmodels run on the same windows, in one table.

    python benchmarks/kmer_baseline.py [--run runs/dna_species/latest] [--k 6] [key=value ...]

key=value arguments are the task's configuration overrides (e.g. data.seq_len=4096), so the
windows are exactly those of `seqmodels fit task=dna_species` with the same overrides.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
from sklearn.preprocessing import StandardScaler

from seqmodels.cli import compose_config
from seqmodels.data.tokens import reverse_complement
from seqmodels.tasks.dna_species import build_datamodule
from seqmodels.tasks.export import load_pretrained


def kmer_spectrum(tokens: np.ndarray, k: int) -> np.ndarray:
    """Frequencies of the 4^k k-mers of a window and of its reverse complement (k-mers with N
    are left out)."""
    counts = np.zeros(4**k)
    place_values = 4 ** np.arange(k - 1, -1, -1)
    for strand in (tokens, reverse_complement(tokens)):
        kmers = np.lib.stride_tricks.sliding_window_view(strand.astype(np.int64) - 1, k)
        kmers = kmers[((kmers >= 0) & (kmers < 4)).all(axis=1)]  # A, C, G, T → 0..3
        counts += np.bincount(kmers @ place_values, minlength=4**k)
    return counts / max(counts.sum(), 1)


def features(items, k: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    x = [kmer_spectrum(item["tokens"].numpy(), k) for item in track(items, description=label)]
    return np.stack(x), np.array([int(item["label"]) for item in items])


def score(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "acc": accuracy_score(y_true, y_pred),
        "f1": f1_score(y_true, y_pred, average="macro"),
        "mcc": matthews_corrcoef(y_true, y_pred),
    }


@torch.inference_mode()
def model_predictions(run: Path, dataset, batch_size: int = 64) -> np.ndarray:
    model, info = load_pretrained(run)
    preds = []
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        tokens = torch.stack([item["tokens"] for item in items])
        preds.append(model(tokens, tokens != info["pad_id"]).argmax(-1).numpy())
    return np.concatenate(preds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/dna_species/latest"))
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("overrides", nargs="*", help="task configuration overrides (key=value)")
    args = parser.parse_args()
    cfg = compose_config(["task=dna_species", *args.overrides])
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.setup("test")

    # The windows the model trained on: max_steps batches, epoch by epoch.
    train = datamodule.train_dataset
    n_train = cfg.trainer.max_steps * cfg.data.batch_size
    items = []
    for epoch in range((n_train + len(train) - 1) // len(train)):
        train.set_epoch(epoch)
        items += [train[i] for i in range(min(len(train), n_train - len(items)))]
    x_train, y_train = features(items, args.k, f"{args.k}-mers of {len(items)} train windows")
    test = datamodule.test_dataset
    x_test, y_test = features([test[i] for i in range(len(test))], args.k, "test windows")

    started = time.perf_counter()
    scaler = StandardScaler().fit(x_train)
    classifier = LogisticRegression(max_iter=2000, C=0.1).fit(scaler.transform(x_train), y_train)
    rows = {
        f"{args.k}-mer spectrum + logistic regression": (
            score(y_test, classifier.predict(scaler.transform(x_test))),
            f"{time.perf_counter() - started:.0f} s fit",
        )
    }
    if args.run.exists():
        rows[f"seqmodels ({args.run.resolve().name})"] = (
            score(y_test, model_predictions(args.run, test)),
            "see the run",
        )

    table = Table(
        title=f"species classification, {len(test)} test windows of {cfg.data.seq_len} bases "
        f"({len(datamodule.class_names)} classes)"
    )
    for column in ("model", "test acc", "macro-F1", "MCC", "training"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, (metrics, note) in rows.items():
        table.add_row(name, *(f"{metrics[m]:.3f}" for m in ("acc", "f1", "mcc")), note)
    Console().print(table)


if __name__ == "__main__":
    main()
