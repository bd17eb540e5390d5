"""audio_lm against the training budget: the model's bits per sample beside linear prediction.

For each budget of training steps, trains `seqmodels fit task=audio_lm` with its defaults (only
trainer.max_steps changes, so each run has its own warmup and cosine schedule, as a user with
that budget would get) on the bundled digits or on a folder of recordings (--data), and reads
the test bits per sample of its best checkpoint beside the linear predictor the same run scores
on the same test windows. Prints the table (Markdown too, for BENCHMARKS.md) and plots test bits
against steps: how fast does the model's margin over linear prediction grow?

    python benchmarks/audio_lm_budget.py [--steps 300,600,1200] [--data FOLDER]
        [--out runs/audio_lm_budget] [key=value ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pretraining import timed_fit
from rich.console import Console
from tables import print_results

from seqmodels.training.plots import plt, read_metrics, save

COLUMNS = ["steps", "val bits", "test bits", "linear prediction", "margin", "wall min", "CPU min"]


def budget_row(overrides: list[str]) -> dict[str, float]:
    """Train one run: its best validation and its test bits, the baseline's, wall and CPU min."""
    run, wall, cpu = timed_fit(overrides)
    series = read_metrics(run / "metrics.csv")
    test, lpc = series["test/bits_per_sample"][-1][1], series["test/baseline_lpc_bits"][-1][1]
    val = min((value for _, value in series.get("val/bits_per_sample", [])), default=float("nan"))
    return {"val": val, "test": test, "lpc": lpc, "wall": wall / 60, "cpu": cpu / 60}


def plot(rows: list[dict], path: Path) -> None:
    steps = [row["steps"] for row in rows]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(steps, [row["test"] for row in rows], "o-", label="seqmodels (task defaults)")
    axes.plot(steps, [row["lpc"] for row in rows], "s--", label="linear prediction")
    goal = [row["lpc"] - 0.5 for row in rows]
    axes.plot(steps, goal, ":", label="the goal: 0.5 bits under linear prediction")
    axes.set_xscale("log", base=2)
    axes.set_xticks(steps, [str(s) for s in steps])
    axes.set_xlabel("training steps")
    axes.set_ylabel("test bits per sample")
    axes.grid(alpha=0.3)
    axes.legend()
    save(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="300,600,1200", help="training budgets")
    parser.add_argument("--data", type=Path, help="a folder of recordings (data.root)")
    parser.add_argument("--out", type=Path, default=Path("runs/audio_lm_budget"))
    parser.add_argument("overrides", nargs="*", help="audio_lm overrides (key=value)")
    args = parser.parse_args()
    data = [f"data.root={args.data}"] if args.data else []
    rows = []
    for steps in (int(s) for s in args.steps.split(",")):
        overrides = ["task=audio_lm", f"run_root={args.out}", f"trainer.max_steps={steps}"]
        row = {"steps": steps, **budget_row([*overrides, *data, *args.overrides])}
        rows.append(row)
        Console().print(row)

    cells = [
        [
            str(row["steps"]),
            *(f"{row[key]:.3f}" for key in ("val", "test", "lpc")),
            f"{row['lpc'] - row['test']:.3f}",
            f"{row['wall']:.1f}",
            f"{row['cpu']:.1f}",
        ]
        for row in rows
    ]
    title = "audio_lm: test bits per sample against the training budget"
    print_results(title, COLUMNS, cells, left=0)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(rows, args.out / "audio_lm_budget.png")
    print(f"curve: {args.out / 'audio_lm_budget.png'}")


if __name__ == "__main__":
    main()
