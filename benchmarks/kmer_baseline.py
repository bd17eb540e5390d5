"""A k-mer baseline beside the deep model, on the same data: any labelled dataset, or species.

Trains logistic regression (scikit-learn) on k-mer spectra (both strands, so the features do not
depend on orientation) of the training data the model saw, scores it on the task's test data,
and scores a trained seqmodels run on the same sequences, in one table: does the deep model beat
k-mer counting on this data? With numeric targets (task=dna_classify task.target=regression, or
inferred so) the baseline is ridge regression on the same spectra, its alpha chosen by the
validation split's R², scored by Pearson, Spearman and R² of each target.

    python benchmarks/kmer_baseline.py [--run RUN] [--k 6] [task=dna_species] [key=value ...]
    python benchmarks/kmer_baseline.py --run runs/dna_classify/latest \
        task=dna_classify data.train=labelled.tsv [data.test=...] [data.genome=ref.fa]
    python benchmarks/kmer_baseline.py --run runs/dna_classify/latest task=dna_classify \
        data.train=T.tsv data.val=V.tsv data.test=TEST.tsv data.genome=ref.fa data.label_columns=[y]

key=value arguments are the task's configuration overrides (e.g. data.seq_len=4096), so the data
are exactly those of `seqmodels fit` with the same overrides: for dna_species the training windows
of trainer.max_steps batches and the fixed test windows, for dna_classify every training sequence
and the test split.
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
from scipy.stats import pearsonr, spearmanr
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, r2_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from seqmodels.cli import compose_config
from seqmodels.data.dna.classify import pad_batch
from seqmodels.data.dna.tokens import reverse_complement
from seqmodels.models.pretrained import load_pretrained
from seqmodels.tasks.registry import task_module


def kmer_codes(tokens: np.ndarray, k: int) -> np.ndarray:
    """The k-mers of a token array as integers (A, C, G, T → 0..3); k-mers with N are left out."""
    bases = tokens.astype(np.int64) - 1
    if len(bases) < k:
        return np.zeros(0, dtype=np.int64)
    kmers = np.lib.stride_tricks.sliding_window_view(bases, k)
    kmers = kmers[((kmers >= 0) & (kmers < 4)).all(axis=1)]
    return kmers @ (4 ** np.arange(k - 1, -1, -1, dtype=np.int64))


def both_strands(tokens: np.ndarray, k: int) -> np.ndarray:
    """The k-mer codes of a window and of its reverse complement."""
    return np.concatenate([kmer_codes(tokens, k), kmer_codes(reverse_complement(tokens), k)])


def kmer_spectrum(tokens: np.ndarray, k: int) -> np.ndarray:
    """Frequencies of the 4^k k-mers of a window and of its reverse complement (k-mers with N
    are left out)."""
    counts = np.bincount(both_strands(tokens, k), minlength=4**k).astype(np.float64)
    return counts / max(counts.sum(), 1)


def features(items, k: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    x = [kmer_spectrum(item["tokens"].numpy(), k) for item in track(items, description=label)]
    return np.stack(x), np.array([int(item["label"]) for item in items])


def score(y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1, MCC and macro one-vs-rest AUROC of class probabilities (n, classes)."""
    y_pred = probs.argmax(1)
    present = np.unique(y_true)
    if len(present) < 2:
        auroc = float("nan")  # undefined with one class
    elif probs.shape[1] == 2:
        auroc = roc_auc_score(y_true, probs[:, 1])
    else:
        auroc = roc_auc_score(y_true, probs, multi_class="ovr", labels=range(probs.shape[1]))
    return {
        "acc": accuracy_score(y_true, y_pred),
        "f1": f1_score(y_true, y_pred, average="macro"),
        "mcc": matthews_corrcoef(y_true, y_pred),
        "auroc": auroc,
    }


@torch.inference_mode()
def model_probabilities(run: Path, dataset, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (n, classes) of a trained run on every item of `dataset`."""
    model, info = load_pretrained(run)
    probs = []
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        tokens = pad_batch(items)["tokens"]
        probs.append(model(tokens, tokens != info.pad_id).softmax(-1).numpy())
    return np.concatenate(probs)


ALPHAS = tuple(10.0**e for e in range(-1, 7))  # 0.1 ... 10^6


def spectra(dataset, k: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    """k-mer spectra (n, 4^k) and numeric targets (n, targets) of every item of a dataset."""
    items = [dataset[i] for i in range(len(dataset))]
    x = [kmer_spectrum(item["tokens"].numpy(), k) for item in track(items, description=label)]
    return np.stack(x), np.stack([np.asarray(item["label"], dtype=np.float64) for item in items])


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Pearson, Spearman and R² of each target (columns of (n, targets))."""
    columns = range(y_true.shape[1])
    return {
        "pearson": np.array([pearsonr(y_true[:, i], y_pred[:, i])[0] for i in columns]),
        "spearman": np.array([spearmanr(y_true[:, i], y_pred[:, i])[0] for i in columns]),
        "r2": np.array([r2_score(y_true[:, i], y_pred[:, i]) for i in columns]),
    }


def ridge_baseline(datamodule, k: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(test targets, ridge predictions on k-mer spectra, a note on the fit): alpha is the one
    of ALPHAS with the best mean R² on the validation split."""
    x_train, y_train = spectra(datamodule.train_dataset, k, f"{k}-mers of the training data")
    x_val, y_val = spectra(datamodule.val_dataset, k, "validation sequences")
    x_test, y_test = spectra(datamodule.test_dataset, k, "test sequences")
    started = time.perf_counter()
    scaler = StandardScaler().fit(x_train)
    x_train, x_val, x_test = (scaler.transform(x) for x in (x_train, x_val, x_test))

    def predict(alpha: float, x: np.ndarray) -> np.ndarray:  # (n, targets), one target too
        return Ridge(alpha=alpha).fit(x_train, y_train).predict(x).reshape(len(x), -1)

    best = max(ALPHAS, key=lambda a: regression_scores(y_val, predict(a, x_val))["r2"].mean())
    y_pred = predict(best, x_test)
    return y_test, y_pred, f"alpha={best:g}, {time.perf_counter() - started:.0f} s fit"


@torch.inference_mode()
def model_values(run: Path, dataset, batch_size: int = 64) -> np.ndarray:
    """A trained regressor's predictions (n, targets), in the data's units (the model returns
    them so: seqmodels.models.heads.SequenceRegressor)."""
    model, card = load_pretrained(run)
    card.require(kind="regressor", alphabet="dna", what="the ridge baseline's comparison")
    out = []
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        tokens = pad_batch(items)["tokens"]
        out.append(model(tokens, tokens != card.pad_id).numpy())
    return np.concatenate(out)


def regression_table(cfg, datamodule, run: Path, k: int) -> Table:
    """Ridge on k-mer spectra, and the run (if there is one), on the same test rows."""
    y_test, y_pred, note = ridge_baseline(datamodule, k)
    rows = {f"{k}-mer spectrum + ridge": (regression_scores(y_test, y_pred), note)}
    if run.exists():
        preds = model_values(run, datamodule.test_dataset)
        rows[f"seqmodels ({run.resolve().name})"] = (
            regression_scores(y_test, preds),
            "see the run",
        )
    names = datamodule.target_names
    table = Table(
        title=f"{cfg.task.name}: {len(y_test)} test sequences, targets {', '.join(names)}"
    )
    table.add_column("model")
    if len(names) > 1:
        table.add_column("target")
    for column in ("Pearson", "Spearman", "R²", "training"):
        table.add_column(column, justify="right")
    for model, (scores, fit_note) in rows.items():
        for i, name in enumerate(names):
            cells = [f"{scores[m][i]:.3f}" for m in ("pearson", "spearman", "r2")]
            table.add_row(model, *([name] if len(names) > 1 else []), *cells, fit_note)
    return table


def prepared_datamodule(cfg):
    """The task's data module, prepared and set up for fit and test (train, val, test data)."""
    datamodule = task_module(cfg.task.name).build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.setup("test")
    return datamodule


def training_items(cfg, datamodule) -> list[dict]:
    """The training data as the deep model saw it: for dna_species the random windows of
    trainer.max_steps batches, epoch by epoch; otherwise every training sequence once."""
    train = datamodule.train_dataset
    if cfg.task.name != "dna_species":
        return [train[i] for i in range(len(train))]
    n_train = cfg.trainer.max_steps * cfg.data.batch_size
    items = []
    for epoch in range((n_train + len(train) - 1) // len(train)):
        train.set_epoch(epoch)
        items += [train[i] for i in range(min(len(train), n_train - len(items)))]
    return items


def kmer_baseline(cfg, datamodule, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(test labels, test probabilities of the k-mer model, seconds to fit it)."""
    items = training_items(cfg, datamodule)
    x_train, y_train = features(items, k, f"{k}-mers of {len(items)} training sequences")
    test = datamodule.test_dataset
    x_test, y_test = features([test[i] for i in range(len(test))], k, "test sequences")
    started = time.perf_counter()
    scaler = StandardScaler().fit(x_train)
    classifier = LogisticRegression(max_iter=2000, C=0.1).fit(scaler.transform(x_train), y_train)
    probs = np.zeros((len(y_test), datamodule.num_classes))
    probs[:, classifier.classes_] = classifier.predict_proba(scaler.transform(x_test))
    return y_test, probs, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained run (default: runs/<task>/latest)")
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("overrides", nargs="*", help="task configuration overrides (key=value)")
    args = parser.parse_args()
    cfg = compose_config(args.overrides)
    datamodule = prepared_datamodule(cfg)
    run = args.run or Path(cfg.run_root) / cfg.task.name / "latest"
    if getattr(datamodule, "target", "classification") == "regression":
        Console().print(regression_table(cfg, datamodule, run, args.k))
        return

    y_test, probs, seconds = kmer_baseline(cfg, datamodule, args.k)
    rows = {
        f"{args.k}-mer spectrum + logistic regression": (
            score(y_test, probs),
            f"{seconds:.0f} s fit",
        )
    }
    if run.exists():
        probs = model_probabilities(run, datamodule.test_dataset)
        rows[f"seqmodels ({run.resolve().name})"] = (score(y_test, probs), "see the run")

    table = Table(
        title=f"{cfg.task.name}: {len(y_test)} test sequences, {datamodule.num_classes} classes"
    )
    for column in ("model", "test acc", "macro-F1", "MCC", "AUROC", "training"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, (metrics, note) in rows.items():
        table.add_row(name, *(f"{metrics[m]:.3f}" for m in ("acc", "f1", "mcc", "auroc")), note)
    Console().print(table)


if __name__ == "__main__":
    main()
