"""fit / validate / test from a resolved configuration: data, module, trainer, run directory.

A run leaves runs/<task>/<time>/ with config.yaml, checkpoints/, metrics.csv, plots/ and model/
(config.json + model.safetensors), for classifiers per_class_test.tsv (and
plots/confusion_matrix_test.png), for regressors and multi-label classifiers per_target_test.tsv
(and for regressors plots/scatter_test.png), and moves runs/<task>/latest to it once it has
finished.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from seqmodels.data.token_budget import accumulation
from seqmodels.errors import UserError
from seqmodels.io.atomic import atomic_write, remove_stale_temporaries
from seqmodels.io.tables import print_table
from seqmodels.models.compiled import check_compiler, compile_blocks
from seqmodels.models.pretrained import load_pretrained, save_pretrained
from seqmodels.tasks.metrics import per_class_report, per_target_report
from seqmodels.tasks.registry import task_module
from seqmodels.training.checkpointing import AtomicCheckpointIO, RngState, StepCheckpoint
from seqmodels.training.finetune import apply_finetune, init_from
from seqmodels.training.guards import NonFiniteLossGuard
from seqmodels.training.plots import plot_confusion_matrix, plot_scatter, plot_training_curves
from seqmodels.training.quiet import quiet_lightning
from seqmodels.training.resume import LAST, RunLogger, last_checkpoint_step
from seqmodels.training.runs import (
    is_launch_rank_zero,
    latest_run,
    mark_latest,
    run_directory,
    sharing_run_dir,
)

console = Console()


def uses_gpu(cfg: DictConfig) -> bool:
    """Whether the run trains on a GPU: one is there and trainer.accelerator does not say cpu."""
    return torch.cuda.is_available() and cfg.trainer.get("accelerator") != "cpu"


def build_trainer(cfg: DictConfig, run: Path | None, resume_step: int | None = None) -> L.Trainer:
    """A Lightning Trainer from cfg.trainer; with a run directory, it logs and checkpoints there
    (best.ckpt by cfg.task.monitor; last.ckpt every cfg.checkpoint.every_n_steps steps, or at
    validation when null), atomically, and stops or skips a non-finite loss
    (cfg.nonfinite_loss). `resume_step`: the
    step of the checkpoint a resumed run starts from (metrics.csv keeps its rows up to it)."""
    quiet_lightning()
    options = OmegaConf.to_container(cfg.trainer, resolve=True)
    if options.get("precision") is None:
        gpu = uses_gpu(cfg)
        options["precision"] = "bf16-mixed" if gpu and torch.cuda.is_bf16_supported() else "32-true"
    # batches accumulated up to the data's token budget per step (long windows: batches of one)
    accumulate = options.get("accumulate_grad_batches", 1)
    options["accumulate_grad_batches"] = accumulation(cfg, accumulate)
    callbacks: list[L.Callback] = [RichProgressBar(), RngState()]
    if run is not None:
        every = (cfg.get("checkpoint") or {}).get("every_n_steps")
        callbacks.append(
            ModelCheckpoint(
                dirpath=run / "checkpoints",
                filename="best",
                monitor=cfg.task.monitor,
                mode=cfg.task.mode,
                # last.ckpt: StepCheckpoint's, mid-epoch, where resuming is exact; without it,
                # at each validation's end
                save_last=every is None,
                enable_version_counter=False,  # overwrite best.ckpt and last.ckpt in place
            )
        )
        if every is not None:
            callbacks.append(StepCheckpoint(run / LAST, every))
        callbacks.append(NonFiniteLossGuard(cfg.get("nonfinite_loss") or "stop"))
    logger = RunLogger(run, resume_step) if run is not None else False
    try:
        with lightning_errors():
            return L.Trainer(
                callbacks=callbacks,
                logger=logger,
                default_root_dir=run,
                enable_checkpointing=run is not None,
                use_distributed_sampler=False,  # our loaders split data across ranks themselves
                plugins=[AtomicCheckpointIO()],
                **options,
            )
    except (TypeError, ValueError) as error:
        raise UserError(f"trainer: {error}") from None


@contextmanager
def lightning_errors():
    """Lightning's MisconfigurationException (a bad trainer.* value, a GPU asked for and not
    there, too few batches for val_check_interval) as a UserError: the user's to fix."""
    try:
        yield
    except MisconfigurationException as error:
        raise UserError(f"trainer: {str(error).strip().splitlines()[0]}") from None


def print_metrics(title: str, metrics: dict[str, float]) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in sorted(metrics):
        table.add_row(key, f"{metrics[key]:.4f}")
    print_table(table, console)


def report_rows(rows: list[dict], title: str, out: Path) -> None:
    """Write rows (dicts of the same keys; the first key names the row) to the TSV `out` and
    print them as a table; numbers with 4 decimals."""
    columns = list(rows[0])
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column == columns[0] else "right")
    lines = ["\t".join(columns) + "\n"]
    for row in rows:
        cells = [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        table.add_row(*cells)
        lines.append("\t".join(cells) + "\n")
    atomic_write(out, lambda tmp: tmp.write_text("".join(lines)))
    print_table(table, console)


def report_per_class(matrix, class_names: list[str], out: Path) -> None:
    """Precision, recall, F1 and support of each class on the test data."""
    report_rows(per_class_report(matrix, class_names), "per class (test)", out)


def report_per_target(preds, targets, card, out: Path) -> None:
    """The metrics of each target (regressor) or label (multilabel) on the test data: the
    columns of per_target_report."""
    rows = per_target_report(preds, targets, card.target_names, card.kind)
    title = "per target (test)" if card.kind == "regressor" else "per label (test)"
    report_rows(rows, title, out)


def fit(cfg: DictConfig) -> Path:
    """Train (or resume, with cfg.resume), test the best checkpoint, export it, plot, and return
    the run directory. With several processes (DDP), every one runs this; rank 0 writes."""
    resume = cfg.get("resume")
    if resume:  # checked first: a bad checkpoint should not wait for the data
        run, ckpt = Path(resume), Path(resume) / LAST
        step = last_checkpoint_step(run)
    if cfg.get("compile"):
        check_compiler("cuda" if uses_gpu(cfg) else "cpu")
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    task = task_module(cfg.task.name)
    datamodule = task.build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = task.build_module(cfg, datamodule)
    if resume:  # the weights come from the checkpoint, the fine-tuning options from cfg
        apply_finetune(module, cfg)
        if is_launch_rank_zero():  # files a killed writer left half-written
            for folder in (run, run / "checkpoints", run / "model"):
                remove_stale_temporaries(folder)
    else:
        init_from(module, cfg)  # a previous run's backbone, when cfg.init_from names one
        run, ckpt, step = run_directory(cfg.run_root, cfg.task.name), None, None
    if cfg.get("compile"):
        compile_blocks(module.model)
    if is_launch_rank_zero():
        config = OmegaConf.to_yaml({**OmegaConf.to_container(cfg, resolve=True), "resume": None})
        atomic_write(run / "config.yaml", lambda tmp: tmp.write_text(config))
        console.print(f"run directory: {run}" + (f" (resuming at step {step})" if resume else ""))
    trainer = build_trainer(cfg, run, resume_step=step)
    with sharing_run_dir(run), lightning_errors():  # DDP's other processes write to this run
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
        best = run / "checkpoints" / "best.ckpt"  # in this run, also if it moved since a crash
        results = trainer.test(
            module,
            datamodule=datamodule,
            ckpt_path=best if best.is_file() else None,  # none after fast_dev_run
            verbose=False,
            weights_only=True,
        )
    if not trainer.is_global_zero:
        return run
    card = module.card
    save_pretrained(run / "model", module.model, card)
    plots = run / "plots"
    plot_training_curves(run / "metrics.csv", plots / "training_curves.png")
    if getattr(module, "confusion", None) is not None:
        plot_confusion_matrix(
            module.confusion.numpy(),
            card.class_names,
            plots / "confusion_matrix_test.png",
            f"{cfg.task.name}: test windows",
        )
        report_per_class(module.confusion.numpy(), card.class_names, run / "per_class_test.tsv")
    outputs = getattr(module, "test_outputs", None)
    if outputs is not None and len(outputs[0]):
        preds, targets = outputs
        if card.kind == "regressor":
            title = f"{cfg.task.name}: test sequences"
            plot_scatter(
                preds.numpy(), targets.numpy(), card.target_names, plots / "scatter_test.png", title
            )
        report_per_target(preds, targets, card, run / "per_target_test.tsv")
    mark_latest(run)
    print_metrics(f"{cfg.task.name} test ({run})", results[0] if results else {})
    return run


def evaluate(cfg: DictConfig, stage: str) -> dict[str, float]:
    """validate or test a trained model (cfg.ckpt, or the task's latest run) on cfg's data."""
    source = cfg.ckpt or latest_run(cfg.run_root, cfg.task.name)
    model, card = load_pretrained(source)
    task = task_module(cfg.task.name)
    datamodule = task.build_datamodule(cfg)
    datamodule.prepare_data()
    module = task.build_module(cfg, datamodule, card)
    module.model.load_state_dict(model.state_dict())
    trainer = build_trainer(cfg, run=None)
    run_stage = trainer.validate if stage == "validate" else trainer.test
    with lightning_errors():
        results = run_stage(module, datamodule=datamodule, verbose=False)
    metrics = results[0] if results else {}
    print_metrics(f"{cfg.task.name} {stage} ({source})", metrics)
    return metrics
