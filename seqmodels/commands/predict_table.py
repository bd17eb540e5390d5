"""`seqmodels predict` on a lab's labelled-data files: the formats task=dna_classify trains on.

    seqmodels predict regions.bed genome=ref.fa [ckpt=RUN] [out=DIR] [batch_size=B] [segment=S]
    seqmodels predict seqs.tsv | regions.csv genome=ref.fa | dataset/test | test.fa labelled=true

Which files are tables: a folder (one subfolder per class), a .bed, .tsv, .csv, .tab or .txt file
(gzipped too; a .txt file that starts with '>' is a FASTA genome, as before). A FASTA file is a
genome to classify window by window (predict_dna.py) unless labelled=true: then its headers end
in '|label' and each record is one row. Headers are not sniffed for '|': NCBI and UniProt ids
(`>gi|123|ref|NC_000913.3|`) carry bars too.

Any model task=dna_classify trains predicts: a classifier, a regressor or a multi-label model
(seqmodels.inference.outputs says what each one's columns hold).

For each input, <out>/<name>.predictions.tsv holds one line per input row, in input order: the
row's own fields (a table's columns under its header; BED's fields; a FASTA record's id and label;
a class folder's file, record and class), then the prediction's columns: a classifier's
`predicted` and one `p_<class>` per class; a multi-label model's `predicted` (the labels of
probability >= 0.5, joined by ","; "." for none) and one `p_<label>` per label; a regressor's
values in the data's units, `predicted` with one target and `predicted_<name>` per target with
several. When the rows carry labels (a classifier's `label` column; a regressor's or multi-label
model's columns of its `target_names`, as in training), <out>/<name>.metrics.tsv holds the
scores of a run's test report, computed by the same torchmetrics collection: acc, macro-F1, MCC,
AUROC and each class's precision, recall, F1 and support; for a regressor Pearson, Spearman and
R² (their mean over targets under the plain names, as `test/pearson`) and each target's; for a
multi-label model AUROC and AUPRC (macro) and each label's. Every input is read and checked and
every row predicted before anything is written, each file atomically: a failed predict leaves
out/ as it was.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from seqmodels.data.dna.genome_store import GenomeStore
from seqmodels.data.dna.labelled import LabelledSequence
from seqmodels.errors import UserError
from seqmodels.inference.outputs import THRESHOLD, Outputs, number, require_predictable
from seqmodels.inference.tables import (
    RowPrediction,
    check_labels,
    classify_rows,
    label_numbers,
    read_rows,
)
from seqmodels.io.atomic import atomic_write
from seqmodels.io.model_card import ModelCard
from seqmodels.io.tables import print_table
from seqmodels.models.pretrained import load_pretrained
from seqmodels.models.streaming import default_segment
from seqmodels.tasks.metrics import (
    classification_metrics,
    multilabel_metrics,
    per_class_report,
    per_target_report,
    regression_metrics,
)
from seqmodels.training.runs import latest_run

TABLE_SUFFIXES = (".bed", ".tsv", ".csv", ".tab", ".txt")
COMPRESSED = (".gz", ".bgz", ".bgzf")
# the order of a run's test report, by the model's kind
METRICS = {
    "classifier": ("acc", "f1", "mcc", "auroc"),
    "regressor": ("pearson", "spearman", "r2"),
    "multilabel": ("auroc", "auprc"),
}


def _suffixes(path: Path) -> tuple[str, str]:
    """(format suffix, compression suffix) of a file name, lowercase: ('.bed', '.gz')."""
    name = path.name.lower()
    compression = next((s for s in COMPRESSED if name.endswith(s)), "")
    return Path(name.removesuffix(compression)).suffix, compression


def _starts_like_fasta(path: Path) -> bool:
    try:
        with path.open("rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if compressed else path.open("rb") as handle:
            return handle.read(4096).lstrip().startswith(b">")
    except OSError:
        return False


def is_table(file: str | Path, labelled: bool | None = None) -> bool:
    """Whether `seqmodels predict` reads `file` as labelled-data rows (see the module docstring)
    rather than as a genome FASTA."""
    path = Path(file).expanduser()
    if path.is_dir():
        return True
    suffix, _ = _suffixes(path)
    if suffix == ".txt" and _starts_like_fasta(path):
        return labelled is True
    return suffix in TABLE_SUFFIXES or labelled is True


def output_name(path: Path) -> str:
    """regions.bed.gz -> regions; a folder keeps its name."""
    if path.is_dir():
        return path.resolve().name
    suffix, compression = _suffixes(path)
    stem = path.name[: len(path.name) - len(compression)]
    return stem[: len(stem) - len(suffix)] or path.name


def score(predictions: list[RowPrediction], card: ModelCard) -> tuple[dict, list[dict]]:
    """(the run's test metrics and `rows`, one dict per class or target) of the rows that carry
    a label, computed as a run's test report computes them (see the module docstring)."""
    if card.kind != "classifier":
        return score_targets(predictions, card)
    class_names = card.class_names
    scored = [p for p in predictions if p.label is not None]
    ids = {name: i for i, name in enumerate(class_names)}
    probs = torch.from_numpy(np.stack([p.probabilities for p in scored]))
    labels = torch.tensor([ids[p.label] for p in scored])
    metrics = classification_metrics(len(class_names), "test")
    metrics.update(probs, labels)
    values = {key.split("/", 1)[1]: float(value) for key, value in metrics.compute().items()}
    matrix = np.zeros((len(class_names), len(class_names)), dtype=np.int64)
    np.add.at(matrix, (labels.numpy(), probs.argmax(1).numpy()), 1)
    summary = {**{key: values[key] for key in METRICS["classifier"]}, "rows": len(scored)}
    return summary, per_class_report(matrix, class_names)


def score_targets(predictions: list[RowPrediction], card: ModelCard) -> tuple[dict, list[dict]]:
    """A regressor's ({pearson, spearman, r2, rows}, per target) or a multi-label model's
    ({auroc, auprc, rows}, per label) of the rows that carry labels: the collections a run's
    test report computes, on the values in the data's units (or the probabilities)."""
    scored = [p for p in predictions if p.label is not None]
    names = card.target_names
    preds = torch.from_numpy(np.stack([p.values for p in scored])).float()
    truth = torch.from_numpy(np.stack(label_numbers(scored, card)))
    build = regression_metrics if card.kind == "regressor" else multilabel_metrics
    metrics = build(names, "test")
    metrics.update(preds, truth if card.kind == "regressor" else truth.long())
    values = metrics.summary()
    summary = {key: values[f"test/{key}"] for key in METRICS[card.kind]}
    return {**summary, "rows": len(scored)}, per_target_report(preds, truth, names, card.kind)


def _predictions_text(predictions: list[RowPrediction], outputs: Outputs) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")  # quotes a tab in a value
    columns = [name for name, _ in predictions[0].fields]
    writer.writerow([*columns, *outputs.columns])
    for p in predictions:
        values = [value for _, value in p.fields]
        writer.writerow([*values, *outputs.cells(p.values)])
    return buffer.getvalue()


def _number(value: float | int) -> str:
    """A count as it is, a score at full precision (to compare with a run's own numbers)."""
    return str(value) if isinstance(value, int) else repr(float(value))


def _metrics_text(metrics: dict, per_class: list[dict]) -> str:
    """metric, class or target (empty for the whole set), value."""
    what = "class" if "class" in per_class[0] else "target"
    lines = [f"metric\t{what}\tvalue\n"]
    lines += [f"{key}\t\t{_number(value)}\n" for key, value in metrics.items()]
    for row in per_class:
        for key, value in row.items():
            if key != what:
                lines.append(f"{key}\t{row[what]}\t{_number(value)}\n")
    return "".join(lines)


def _predicted_counts(predictions: list[RowPrediction], outputs: Outputs) -> str:
    """What was predicted, in a few words: rows per class, rows per label called, or the mean
    value of each target."""
    values = np.stack([p.values for p in predictions])
    if outputs.kind == "regressor":
        means = values.mean(0)
        return ", ".join(f"{n} mean {number(m)}" for n, m in zip(outputs.names, means, strict=True))
    if outputs.kind == "multilabel":
        counts = (values >= THRESHOLD).sum(0)
    else:
        counts = np.bincount(values.argmax(1), minlength=len(outputs.names))
    return ", ".join(f"{n} {c:,}" for n, c in zip(outputs.names, counts, strict=True) if c)


def _read_inputs(
    files: list[str], card: ModelCard, genome: GenomeStore | None, labelled: bool | None
) -> dict[str, tuple[Path, list[LabelledSequence]]]:
    """{output name: (path, rows)} of every input, each checked against the model's classes
    (or targets)."""
    inputs: dict[str, tuple[Path, list[LabelledSequence]]] = {}
    for file in files:
        path = Path(file).expanduser()
        try:
            rows = read_rows(path, genome, labelled, card)
        except UserError as error:  # the reader names fit's key, data.genome=
            raise UserError(str(error).replace("data.genome=", "genome=")) from None
        if not rows:
            raise UserError(f"{path}: no sequences in it: expected rows to predict")
        check_labels(rows, card)
        name = output_name(path)
        if name in inputs:
            raise UserError(
                f"{inputs[name][0]} and {path} would both write {name}.predictions.tsv: "
                "predict them with different out= folders"
            )
        inputs[name] = (path, rows)
    return inputs


def predict_tables(
    files: list[str],
    ckpt: Path | None,
    out: Path,
    batch_size: int,
    segment: int | None,
    genome: Path | None,
    labelled: bool | None,
    cache_dir: Path | None,
    run_root: Path,
) -> list[Path]:
    """`seqmodels predict` on labelled-data files (see the module docstring), with the options
    of seqmodels.commands.predict_dna.predict_command; without ckpt, the newest dna_classify
    run under run_root. Returns the files written."""
    model, card = load_pretrained(ckpt or latest_run(run_root, "dna_classify"))
    require_predictable(card, "predicting labelled tables")
    store = None if genome is None else GenomeStore.open(genome, cache_dir)
    inputs = _read_inputs(files, card, store, labelled)  # every mistake shows before the model
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    segment = segment or default_segment(device)
    console = Console()
    results: dict[str, list[RowPrediction]] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        for name, (path, rows) in inputs.items():
            results[name] = classify_rows(
                model, card, rows, batch_size, segment, progress, path.name
            )
    outputs = Outputs.of(card)
    texts: dict[Path, str] = {}
    scores: dict[str, tuple[dict, list[dict]]] = {}
    for name, predictions in results.items():
        texts[Path(out) / f"{name}.predictions.tsv"] = _predictions_text(predictions, outputs)
        if any(p.label is not None for p in predictions):
            scores[name] = score(predictions, card)
            texts[Path(out) / f"{name}.metrics.tsv"] = _metrics_text(*scores[name])
    Path(out).mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        atomic_write(path, lambda tmp, text=text: tmp.write_text(text))
    _print_summary(console, inputs, results, scores, outputs)
    console.print("wrote " + ", ".join(str(p) for p in texts))
    return list(texts)


def _print_summary(console, inputs, results, scores, outputs: Outputs) -> None:
    table = Table(title="predictions (each row whole)")
    metric_names = METRICS[outputs.kind]
    for column in ("file", "rows", "predicted", "scored", *metric_names):
        table.add_column(column, justify="left" if column in ("file", "predicted") else "right")
    for name, predictions in results.items():
        metrics = scores.get(name, ({}, []))[0]
        table.add_row(
            inputs[name][0].name,
            f"{len(predictions):,}",
            _predicted_counts(predictions, outputs),
            f"{metrics['rows']:,}" if metrics else "-",
            *(f"{metrics[key]:.4f}" if metrics else "-" for key in metric_names),
        )
    print_table(table, console)
    what = "class" if outputs.kind == "classifier" else "target"
    for name, (_, per_class) in scores.items():
        detail = Table(title=f"per {what} ({inputs[name][0].name})")
        columns = list(per_class[0])
        for column in columns:
            detail.add_column(column, justify="left" if column == what else "right")
        for row in per_class:
            cells = [_cell(row[c]) for c in columns[1:]]
            detail.add_row(row[what], *cells)
        print_table(detail, console)


def _cell(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4f}"
