"""The audio tasks' figures with the default configuration: on the bundled digits, or on a
folder of your own recordings.

    python benchmarks/audio_tasks.py [--tasks audio_classify,audio_lm] [key=value ...]
    python benchmarks/audio_tasks.py --data FOLDER [key=value ...]

Trains `audio_classify` and `audio_lm` (as `seqmodels fit task=...` does, into runs/), then
scores each run's best checkpoint: the classifier's test accuracy, macro-F1 and MCC, and the
language model's validation and test bits per sample beside the two baselines the same run logs
on the same windows (mu-law symbol entropy, linear prediction), and by how much it beats linear
prediction. `--data FOLDER` trains `audio_lm` on the recordings under FOLDER (data.root=FOLDER:
WAV, FLAC or OGG at any rate, any number of channels) and first prints what they are. Prints one
table, with each run's training time and the machine's load average (other processes share the
cores).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from seqmodels.cli import compose_config
from seqmodels.data.audio.io import find_audio_files, scan_audio
from seqmodels.training.fit import evaluate, fit

SHOWN = {
    "audio_classify": [("test", "test/acc"), ("test", "test/f1"), ("test", "test/mcc")],
    "audio_lm": [
        (stage, f"{prefix}/{key}")
        for stage, prefix in (("validate", "val"), ("test", "test"))
        for key in ("bits_per_sample", "baseline_unigram_bits", "baseline_lpc_bits")
    ],
}


def describe(folder: Path) -> str:
    """'N files, H h, 44100 Hz x 2 ch (N), ...': what a folder of recordings holds."""
    infos = scan_audio(find_audio_files(folder))
    kinds = Counter((info.rate, info.channels) for info in infos)
    hours = sum(info.frames / info.rate for info in infos) / 3600
    shown = ", ".join(f"{rate} Hz x {ch} ch ({n})" for (rate, ch), n in kinds.most_common())
    return f"{len(infos)} files, {hours:.2f} h: {shown}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=None, help="comma-separated: which runs")
    parser.add_argument(
        "--data", type=Path, default=None, help="a folder of recordings for audio_lm"
    )
    parser.add_argument("overrides", nargs="*", help="overrides for every run (key=value)")
    args = parser.parse_args()
    tasks = (args.tasks or ("audio_lm" if args.data else ",".join(SHOWN))).split(",")
    unknown = set(tasks) - set(SHOWN)
    if unknown:
        parser.error(f"unknown task {sorted(unknown)[0]!r}; choose from {', '.join(SHOWN)}")
    overrides = list(args.overrides)
    if args.data is not None:
        if tasks != ["audio_lm"]:
            parser.error("--data trains audio_lm only (audio_classify needs label folders)")
        overrides.insert(0, f"data.root={args.data.expanduser().resolve()}")
    console = Console()
    where = f"{args.data}: {describe(args.data)}" if args.data else "the bundled digits"
    table = Table(title=f"audio tasks on {where} (defaults)")
    for column in ("task", "metric", "value", "fit time", "load average"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for task in tasks:
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
        if task == "audio_lm":
            for stage, prefix in (("validate", "val"), ("test", "test")):
                margin = scored[stage][f"{prefix}/baseline_lpc_bits"]
                margin -= scored[stage][f"{prefix}/bits_per_sample"]
                table.add_row(task, f"{prefix}: linear prediction minus model", f"{margin:.4f}")
    console.print(table)


if __name__ == "__main__":
    main()
