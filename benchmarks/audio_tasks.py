"""The audio tasks' figures on the bundled digits with the default configuration.

    python benchmarks/audio_tasks.py [--tasks audio_classify,audio_lm] [key=value ...]

Trains `audio_classify` and `audio_lm` (as `seqmodels fit task=...` does, into runs/), then
scores each run's best checkpoint: the classifier's test accuracy, macro-F1 and MCC, and the
language model's validation and test bits per sample beside the two baselines the same run logs
on the same windows (mu-law symbol entropy, linear prediction). Prints one table, with each
run's training time and the machine's load average (other processes share the cores).
"""

from __future__ import annotations

import argparse
import os
import time

from rich.console import Console
from rich.table import Table

from seqmodels.cli import compose_config
from seqmodels.training.fit import evaluate, fit

SHOWN = {
    "audio_classify": [("test", "test/acc"), ("test", "test/f1"), ("test", "test/mcc")],
    "audio_lm": [
        (stage, f"{prefix}/{key}")
        for stage, prefix in (("validate", "val"), ("test", "test"))
        for key in ("bits_per_sample", "baseline_unigram_bits", "baseline_lpc_bits")
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(SHOWN), help="comma-separated: which runs")
    parser.add_argument("overrides", nargs="*", help="overrides for every run (key=value)")
    args = parser.parse_args()
    overrides = args.overrides
    unknown = set(args.tasks.split(",")) - set(SHOWN)
    if unknown:
        parser.error(f"unknown task {sorted(unknown)[0]!r}; choose from {', '.join(SHOWN)}")
    console = Console()
    table = Table(title="audio tasks on the bundled digits (defaults)")
    for column in ("task", "metric", "value", "fit time", "load average"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for task in args.tasks.split(","):
        shown = SHOWN[task]
        start = time.perf_counter()
        run = fit(compose_config([f"task={task}", *overrides]))
        minutes = f"{(time.perf_counter() - start) / 60:.1f} min"
        load = f"{os.getloadavg()[0]:.1f}"
        scored = {
            stage: evaluate(compose_config([f"task={task}", f"ckpt={run}", *overrides]), stage)
            for stage in {stage for stage, _ in shown}
        }
        for stage, key in shown:
            table.add_row(task, key, f"{scored[stage][key]:.4f}", minutes, load)
    console.print(table)


if __name__ == "__main__":
    main()
