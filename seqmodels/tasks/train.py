"""fit / validate / test from a resolved configuration: data, module, trainer, run directory.

A run leaves runs/<task>/<time>/ with config.yaml, checkpoints/, metrics.csv, plots/ and model/
(config.json + model.safetensors), and moves runs/<task>/latest to it once it has finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from seqmodels.errors import UserError
from seqmodels.models import ModelConfig
from seqmodels.tasks.classification import ClassificationTask
from seqmodels.tasks.export import load_pretrained, save_pretrained
from seqmodels.tasks.plots import plot_confusion_matrix, plot_training_curves
from seqmodels.tasks.runs import latest_run, mark_latest, new_run_dir

console = Console()


def model_config(cfg: DictConfig, **fixed: Any) -> ModelConfig:
    """The backbone config: the preset named in cfg.model, then every non-null field set there."""
    fields = {k: v for k, v in OmegaConf.to_container(cfg.model).items() if v is not None}
    preset = fields.pop("preset")
    try:
        return ModelConfig.preset(preset, **{**fields, **fixed})
    except (TypeError, ValueError) as error:
        raise UserError(f"model: {error}") from None


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    from seqmodels.data.dna_species import DnaSpeciesDataModule

    data = OmegaConf.to_container(cfg.data, resolve=True)
    return DnaSpeciesDataModule(**data, seed=cfg.seed)


def build_task(cfg: DictConfig, datamodule: L.LightningDataModule) -> ClassificationTask:
    from seqmodels.data.tokens import PAD_ID, VOCAB_SIZE

    info = {
        "kind": "classifier",
        "task": cfg.task.name,
        "model": model_config(cfg, vocab_size=VOCAB_SIZE).to_dict(),
        "class_names": list(datamodule.class_names),
        "pooling": cfg.head.pooling,
        "alphabet": "dna",
        "pad_id": PAD_ID,
        "seq_len": cfg.data.seq_len,
    }
    return ClassificationTask(info, OmegaConf.to_container(cfg.optim, resolve=True))


def build_trainer(cfg: DictConfig, run: Path | None) -> L.Trainer:
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
                monitor="val/acc",
                mode="max",
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


def fit(cfg: DictConfig) -> Path:
    """Train, test the best checkpoint, export it, plot, and return the run directory."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_task(cfg, datamodule)
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
    if module.confusion is not None:
        plot_confusion_matrix(
            module.confusion.numpy(),
            module.hparams.info["class_names"],
            plots / "confusion_matrix_test.png",
            f"{cfg.task.name}: test windows",
        )
    mark_latest(run)
    print_metrics(f"{cfg.task.name} test ({run})", results[0] if results else {})
    return run


def evaluate(cfg: DictConfig, stage: str) -> dict[str, float]:
    """validate or test a trained model (cfg.ckpt, or the task's latest run) on cfg's data."""
    source = cfg.ckpt or latest_run(cfg.run_root, cfg.task.name)
    model, info = load_pretrained(source)
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    if list(datamodule.class_names) != list(info["class_names"]):
        raise UserError(
            f"{source}: the model knows classes {info['class_names']} but the data has "
            f"{list(datamodule.class_names)}: evaluate on the data it was trained for"
        )
    module = ClassificationTask(info, OmegaConf.to_container(cfg.optim, resolve=True))
    module.model.load_state_dict(model.state_dict())
    trainer = build_trainer(cfg, run=None)
    run_stage = trainer.validate if stage == "validate" else trainer.test
    results = run_stage(module, datamodule=datamodule, verbose=False)
    metrics = results[0] if results else {}
    print_metrics(f"{cfg.task.name} {stage} ({source})", metrics)
    return metrics
