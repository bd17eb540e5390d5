"""Does pretraining pay off? Species and plasmids from scratch and pretrained, in one table.

Pretrains once (task=dna_pretrain, the README walk-through's step 1: --pretrain-steps, default 200)
or takes a finished run (--pretrained), then for each task, species (task=dna_species) and
plasmids (task=dna_classify on the bundled plasmid/chromosome tables, as in the walk-through),
trains the classifier from scratch and from the pretrained backbone (init_from) for the same
--steps optimiser steps, every other setting the task's default, and scores the k-mer baseline
(benchmarks/kmer_baseline.py) on the same training and test data. Prints the table, and the
same table in Markdown for BENCHMARKS.md; each row is printed as it finishes.

    python benchmarks/pretraining.py [--steps 300] [--pretrain-steps 200] [--pretrained RUN]
        [--finetune key=value ...] [--no-scratch] [--tasks species,plasmids]
        [--out runs/pretraining] [key=value ...]

key=value overrides apply to every classifier run (scratch and pretrained) and to the baselines;
--finetune overrides only to the runs from the pretrained backbone (e.g.
finetune.backbone_lr_scale=0.3 or optim.lr=0.001); --no-scratch leaves out the runs from scratch
(which --finetune does not change). Wall and CPU minutes are those of each fit, in this process
(one torch thread).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from architectures import PLASMIDS
from dna_variants import test_metrics
from kmer_baseline import kmer_baseline, prepared_datamodule, score
from omegaconf import OmegaConf
from tables import print_results

from seqmodels.cli import compose_config
from seqmodels.training.fit import fit
from seqmodels.training.plots import read_metrics

TASKS = {  # the plasmid task trains by steps, not by its default 10 epochs
    "species": ["task=dna_species"],
    "plasmids": ["task=dna_classify", *PLASMIDS, "trainer.max_epochs=-1"],
}
COLUMNS = ("task", "start", "test acc", "macro-F1", "MCC", "bits/base", "wall min", "CPU min")


def timed_fit(overrides: list[str]) -> tuple[Path, float, float]:
    """(the run, wall seconds, CPU seconds) of one fit."""
    wall, cpu = time.perf_counter(), time.process_time()
    run = fit(compose_config(overrides))
    return run, time.perf_counter() - wall, time.process_time() - cpu


def baseline(overrides: list[str], k: int) -> tuple[dict[str, float], int]:
    """The k-mer baseline's test scores on the task's data, and the number of test items."""
    cfg = compose_config(overrides)
    y_test, probs, _ = kmer_baseline(cfg, prepared_datamodule(cfg), k)
    return score(y_test, probs), len(y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps per classifier")
    parser.add_argument("--pretrain-steps", type=int, default=200)
    parser.add_argument("--pretrained", type=Path, help="a dna_pretrain run to use")
    parser.add_argument("--finetune", nargs="*", default=[], help="init_from runs only")
    parser.add_argument("--no-scratch", action="store_true", help="leave out the scratch runs")
    parser.add_argument("--tasks", default=",".join(TASKS), help="of: " + ", ".join(TASKS))
    parser.add_argument("--k", type=int, default=6, help="k of the k-mer baseline")
    parser.add_argument("--out", type=Path, default=Path("runs/pretraining"))
    parser.add_argument("overrides", nargs="*", help="overrides of every classifier run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    common = [f"run_root={args.out}", f"trainer.max_steps={args.steps}", *args.overrides]
    rows: list[list[str]] = []

    def add(*cells: str) -> None:
        rows.append(list(cells))
        print(" | ".join(cells), flush=True)

    def minutes(seconds: float) -> str:
        return f"{seconds / 60:.1f}"

    if args.pretrained:
        pretrained = args.pretrained.resolve()
        took = ("given", "")
    else:
        pretrain = ["task=dna_pretrain", f"run_root={args.out}"]
        pretrained, wall, cpu = timed_fit([*pretrain, f"trainer.max_steps={args.pretrain_steps}"])
        took = (minutes(wall), minutes(cpu))
    bits = read_metrics(pretrained / "metrics.csv")["test/bits_per_base"][-1][1]
    steps = OmegaConf.load(pretrained / "config.yaml").trainer.max_steps
    add("pretraining", f"next-base, {steps} steps", "", "", "", f"{bits:.3f}", *took)

    tested = {}
    for name in args.tasks.split(","):
        task = TASKS[name]
        starts = [] if args.no_scratch else [("scratch", [])]
        starts.append(("pretrained", [f"init_from={pretrained}", *args.finetune]))
        for start, extra in starts:
            run, wall, cpu = timed_fit([*task, *common, *extra])
            metrics = test_metrics(run)
            cells = [f"{metrics[m]:.3f}" for m in ("acc", "f1", "mcc")]
            add(name, start, *cells, "", minutes(wall), minutes(cpu))
        metrics, tested[name] = baseline([*task, *common], args.k)
        cells = [f"{metrics[m]:.3f}" for m in ("acc", "f1", "mcc")]
        add(name, f"{args.k}-mer LR", *cells, "", "", "")

    title = (
        f"{args.steps} steps per classifier; test windows: "
        + ", ".join(f"{name} {n}" for name, n in tested.items())
        + (f"; fine-tuning: {' '.join(args.finetune)}" if args.finetune else "")
    )
    print_results(title, list(COLUMNS), rows, left=2)


if __name__ == "__main__":
    main()
