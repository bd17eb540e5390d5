"""Species accuracy at 1 kb against the training budget: the model and k-mer baselines, one run.

For each budget of training steps, trains `seqmodels fit task=dna_species` with its defaults
(only trainer.max_steps changes, so each run has its own warmup and cosine schedule, as a user
with that budget would get) and fits logistic regression on the k-mer spectra of exactly the
training windows that run saw (benchmarks/kmer_baseline.py), for several k; all are scored on
the same 1,000 fixed test windows. Prints the table (Markdown too, for BENCHMARKS.md) and plots
test accuracy against steps: does the model's curve cross the baselines', and where?

    python benchmarks/species_budget.py [--steps 300,600,1200,2400] [--k 4,5,6]
        [--out runs/species_budget] [key=value ...]

key=value overrides apply to every run and to the baselines (e.g. model.d_model=128).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dna_variants import test_metrics
from pretraining import baseline, timed_fit
from rich.console import Console
from tables import print_results

from seqmodels.training.plots import plt, save


def model_row(overrides: list[str]) -> dict[str, float]:
    """Train one run; its test accuracy, wall and CPU minutes."""
    run, wall, cpu = timed_fit(overrides)
    return {"acc": test_metrics(run)["acc"], "wall": wall / 60, "cpu": cpu / 60}


def baseline_accuracies(overrides: list[str], ks: list[int]) -> dict[int, float]:
    return {k: baseline(overrides, k)[0]["acc"] for k in ks}


def plot(rows: list[dict], ks: list[int], path: Path) -> None:
    steps = [row["steps"] for row in rows]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(steps, [row["acc"] for row in rows], "o-", label="seqmodels (task defaults)")
    for k in ks:
        axes.plot(steps, [row[k] for row in rows], "s--", label=f"{k}-mer logistic regression")
    axes.set_xscale("log", base=2)
    axes.set_xticks(steps, [str(s) for s in steps])
    axes.set_xlabel("training steps")
    axes.set_ylabel("test accuracy")
    axes.grid(alpha=0.3)
    axes.legend()
    save(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="300,600,1200,2400", help="training budgets")
    parser.add_argument("--k", default="4,5,6", help="k of the k-mer baselines")
    parser.add_argument("--out", type=Path, default=Path("runs/species_budget"))
    parser.add_argument("overrides", nargs="*", help="species-task overrides (key=value)")
    args = parser.parse_args()
    budgets = [int(s) for s in args.steps.split(",")]
    ks = [int(k) for k in args.k.split(",")]
    rows = []
    for steps in budgets:
        overrides = [
            "task=dna_species",
            f"run_root={args.out}",
            f"trainer.max_steps={steps}",
            *args.overrides,
        ]
        row = {"steps": steps, **model_row(overrides), **baseline_accuracies(overrides, ks)}
        rows.append(row)
        Console().print(row)

    columns = ["steps", "seqmodels test acc", *(f"{k}-mer LR" for k in ks), "wall min", "CPU min"]
    cells = [
        [
            str(row["steps"]),
            f"{row['acc']:.3f}",
            *(f"{row[k]:.3f}" for k in ks),
            f"{row['wall']:.1f}",
            f"{row['cpu']:.1f}",
        ]
        for row in rows
    ]
    title = "dna_species at 1 kb: test accuracy against the training budget"
    print_results(title, columns, cells, left=0)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(rows, ks, args.out / "species_budget.png")
    print(f"curve: {args.out / 'species_budget.png'}")


if __name__ == "__main__":
    main()
