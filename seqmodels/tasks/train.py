"""fit / validate / test from a resolved configuration: data, module, trainer, run directory.

A run leaves runs/<task>/<time>/ with config.yaml, checkpoints/, metrics.csv, plots/ and model/
(config.json + model.safetensors), for classifiers per_class_test.tsv, and moves
runs/<task>/latest to it once it has finished.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from seqmodels.errors import UserError
from seqmodels.tasks.export import load_pretrained, save_pretrained
from seqmodels.tasks.finetune import init_from
from seqmodels.tasks.metrics import per_class_report
from seqmodels.tasks.plots import plot_confusion_matrix, plot_training_curves
from seqmodels.tasks.registry import task_module
from seqmodels.tasks.runs import latest_run, mark_latest, new_run_dir

console = Console()


def build_trainer(cfg: DictConfig, run: Path | None) -> L.Trainer:
    """A Lightning Trainer from cfg.trainer; with a run directory, it logs and checkpoints there
    (best by cfg.task.monitor, and last)."""
    options = OmegaConf.to_container(cfg.trainer, resolve=True)
    if options.get("precision") is None:
        gpu = torch.cuda.is_available() and options.get("accelerator") != "cpu"
        options["precision"] = "bf16-mixed" if gpu and torch.cuda.is_bf16_supported() else "32-true"
    callbacks: list[L.Callback] = [RichProgressBar()]
    if run is not None:
        callbacks.append(
            ModelCheckpoint(
                dirpath=run / "checkpoints",
                filename="best",
                monitor=cfg.task.monitor,
                mode=cfg.task.mode,
                save_last=True,
            )
        )
    logger = CSVLogger(run, name="", version="") if run is not None else False
    try:
        return L.Trainer(
            callbacks=callbacks,
            logger=logger,
            default_root_dir=run,
            enable_checkpointing=run is not None,
            use_distributed_sampler=False,  # our loaders split data across ranks themselves
            **options,
        )
    except (TypeError, ValueError) as error:
        raise UserError(f"trainer: {error}") from None


def print_metrics(title: str, metrics: dict[str, float]) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in sorted(metrics):
        table.add_row(key, f"{metrics[key]:.4f}")
    console.print(table)


def report_per_class(matrix, class_names: list[str], out: Path) -> None:
    """Write and print precision, recall, F1 and support of each class on the test data."""
    rows = per_class_report(matrix, class_names)
    columns = ("class", "precision", "recall", "f1", "support")
    table = Table(title="per class (test)")
    for column in columns:
        table.add_column(column, justify="left" if column == "class" else "right")
    lines = ["\t".join(columns) + "\n"]
    for row in rows:
        cells = [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        table.add_row(*cells)
        lines.append("\t".join(cells) + "\n")
    out.write_text("".join(lines))
    console.print(table)


def fit(cfg: DictConfig) -> Path:
    """Train, test the best checkpoint, export it, plot, and return the run directory."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    task = task_module(cfg.task.name)
    datamodule = task.build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = task.build_module(cfg, datamodule)
    init_from(module, cfg)  # a previous run's backbone, when cfg.init_from names one
    run = new_run_dir(cfg.run_root, cfg.task.name)
    OmegaConf.save(cfg, run / "config.yaml", resolve=True)
    console.print(f"run directory: {run}")
    trainer = build_trainer(cfg, run)
    trainer.fit(module, datamodule=datamodule)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    results = trainer.test(module, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    save_pretrained(run / "model", module.model, module.hparams.info)
    plots = run / "plots"
    plot_training_curves(run / "metrics.csv", plots / "training_curves.png")
    if getattr(module, "confusion", None) is not None:
        plot_confusion_matrix(
            module.confusion.numpy(),
            module.hparams.info["class_names"],
            plots / "confusion_matrix_test.png",
            f"{cfg.task.name}: test windows",
        )
        report_per_class(
            module.confusion.numpy(), module.hparams.info["class_names"], run / "per_class_test.tsv"
        )
    mark_latest(run)
    print_metrics(f"{cfg.task.name} test ({run})", results[0] if results else {})
    return run


def evaluate(cfg: DictConfig, stage: str) -> dict[str, float]:
    """validate or test a trained model (cfg.ckpt, or the task's latest run) on cfg's data."""
    source = cfg.ckpt or latest_run(cfg.run_root, cfg.task.name)
    model, info = load_pretrained(source)
    task = task_module(cfg.task.name)
    datamodule = task.build_datamodule(cfg)
    datamodule.prepare_data()
    module = task.build_module(cfg, datamodule, info)
    module.model.load_state_dict(model.state_dict())
    trainer = build_trainer(cfg, run=None)
    run_stage = trainer.validate if stage == "validate" else trainer.test
    results = run_stage(module, datamodule=datamodule, verbose=False)
    metrics = results[0] if results else {}
    print_metrics(f"{cfg.task.name} {stage} ({source})", metrics)
    return metrics
