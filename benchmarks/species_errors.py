"""Where a species classifier errs at 1 kb, and whether counting methods err on the same windows.

Scores a trained dna_species run beside two counting classifiers fitted on exactly the training
windows the run saw: logistic regression on k-mer spectra (benchmarks/kmer_baseline.py) and a
per-species Markov model (order chosen on the validation windows, add-one smoothing, both
strands; a window goes to the species under which it is most likely). Then, on the same test
windows:
- the model and the k-mer LR combined (the product of their probabilities), and the share that
  at least one of them gets right: how far the two are apart, and what they could reach together;
- each species' recall under each method: which species are confused;
- how much of each test window occurs verbatim in the training regions (its 24-mers, both
  strands, looked up in each species' whole training regions), for all windows and for the
  windows each method gets wrong: are the errors DNA shared between species, or DNA unlike any
  seen in training, where composition is all there is to go by?

    python benchmarks/species_errors.py [--run runs/dna_species/latest] [--k 6] [key=value ...]

key=value overrides are those the run was trained with (e.g. seed=1), so the windows are the same.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from kmer_baseline import (
    both_strands,
    kmer_baseline,
    kmer_codes,
    model_probabilities,
    prepared_datamodule,
    training_items,
)
from tables import print_results

from seqmodels.cli import compose_config
from seqmodels.data.dna.windows import split_regions

MARKOV_ORDERS = range(1, 10)
SHARED_K = 24  # by chance in both strands of a 5 Mb genome: probability about 4e-8


def markov_fit(train: list[dict], order: int, classes: int) -> np.ndarray:
    """(classes, 4^(order+1)): log P(base | the `order` bases before it) for each species,
    counted with add-one smoothing on both strands of that species' training windows."""
    span = order + 1
    counts = np.ones((classes, 4**span))
    for item in train:
        counts[int(item["label"])] += np.bincount(
            both_strands(item["tokens"].numpy(), span), minlength=4**span
        )
    counts = counts.reshape(classes, 4**order, 4)
    return np.log(counts / counts.sum(-1, keepdims=True)).reshape(classes, -1)


def log_likelihoods(log_p: np.ndarray, windows: list[np.ndarray], order: int) -> np.ndarray:
    """(windows, classes): each window's log-likelihood (both strands) under each species."""
    return np.stack([log_p[:, both_strands(window, order + 1)].sum(1) for window in windows])


def markov_classifier(train, val, test_windows, classes: int) -> tuple[np.ndarray, int]:
    """Test log-likelihoods of the per-species Markov model of the order best on validation
    (the lowest such order on a tie)."""
    val_windows, val_y = val
    best = None
    for order in MARKOV_ORDERS:
        log_p = markov_fit(train, order, classes)
        accuracy = np.mean(log_likelihoods(log_p, val_windows, order).argmax(1) == val_y)
        if best is None or accuracy > best[0]:
            best = (accuracy, order, log_p)
    _, order, log_p = best
    return log_likelihoods(log_p, test_windows, order), order


def training_kmers(datamodule) -> list[np.ndarray]:
    """Per species, the sorted distinct SHARED_K-mers of its whole training regions."""
    tables = []
    for store in datamodule.test_dataset.stores:
        codes = []
        for index, record in enumerate(store.records):
            start, end = split_regions(record.length, datamodule.split)["train"]
            codes.append(both_strands(store.window(index, start, end), SHARED_K))
        tables.append(np.unique(np.concatenate(codes)))
    return tables


def shared_fraction(window: np.ndarray, table: np.ndarray) -> float:
    """The share of a window's SHARED_K-mers found in a sorted table."""
    codes = kmer_codes(window, SHARED_K)
    found = table[np.minimum(np.searchsorted(table, codes), len(table) - 1)] == codes
    return float(found.mean()) if len(codes) else 0.0


def items_of(dataset) -> tuple[list[np.ndarray], np.ndarray]:
    items = [dataset[i] for i in range(len(dataset))]
    return [item["tokens"].numpy() for item in items], np.array([int(i["label"]) for i in items])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/dna_species/latest"))
    parser.add_argument("--k", type=int, default=6, help="k of the k-mer spectra")
    parser.add_argument("overrides", nargs="*", help="the run's configuration overrides")
    args = parser.parse_args()
    cfg = compose_config(["task=dna_species", *args.overrides])
    datamodule = prepared_datamodule(cfg)
    classes, names = datamodule.num_classes, datamodule.class_names

    y, lr_probs, _ = kmer_baseline(cfg, datamodule, args.k)
    model_probs = model_probabilities(args.run, datamodule.test_dataset)
    test_windows, test_y = items_of(datamodule.test_dataset)
    assert (test_y == y).all()
    train, val = training_items(cfg, datamodule), items_of(datamodule.val_dataset)
    markov, order = markov_classifier(train, val, test_windows, classes)
    predictions = {
        "seqmodels": model_probs.argmax(1),
        f"{args.k}-mer LR": lr_probs.argmax(1),
        f"order-{order} Markov": markov.argmax(1),
        f"seqmodels × {args.k}-mer LR": (np.log(model_probs) + np.log(lr_probs)).argmax(1),
    }
    wrong = {name: predicted != y for name, predicted in predictions.items()}
    model_wrong, lr_wrong = wrong["seqmodels"], wrong[f"{args.k}-mer LR"]
    rows = [[name, f"{1 - errors.mean():.3f}"] for name, errors in wrong.items()]
    either_right = 1 - (model_wrong & lr_wrong).mean()
    rows.append([f"seqmodels or {args.k}-mer LR right", f"{either_right:.3f}"])
    print_results(f"dna_species: {len(y)} test windows", ["method", "test acc"], rows)

    recall_rows = [
        [name, *(f"{1 - errors[y == c].mean():.3f}" for c in range(classes))]
        for name, errors in list(wrong.items())[:3]
    ]
    print_results("recall per species", ["method", *names], recall_rows)

    tables = training_kmers(datamodule)
    shared = np.array([[shared_fraction(w, t) for t in tables] for w in test_windows])
    own = shared[np.arange(len(y)), y]
    other = np.where(np.eye(classes, dtype=bool)[y], 0.0, shared).max(1)
    groups = {
        "all": np.ones(len(y), dtype=bool),
        "seqmodels wrong": model_wrong,
        f"{args.k}-mer LR wrong": lr_wrong,
        "both wrong": model_wrong & lr_wrong,
    }
    novelty_rows = [
        [
            name,
            str(mask.sum()),
            f"{(own[mask] > 0.5).mean():.3f}",
            f"{(other[mask] > 0.5).mean():.3f}",
            f"{((own[mask] < 0.05) & (other[mask] < 0.05)).mean():.3f}",
        ]
        for name, mask in groups.items()
    ]
    print_results(
        f"test windows by how much of them ({SHARED_K}-mers) occurs in the training regions",
        ["windows", "n", ">50% in own species", ">50% in another", "<5% in any"],
        novelty_rows,
    )


if __name__ == "__main__":
    main()
