"""Species accuracy at 1 kb for every backbone variant, with and without pretraining, in one run.

Trains the species classifier (task=dna_species, 1,024-base windows) for each variant (causal,
bidirectional, rc_equivariant) from scratch, then pretrains one causal next-base model on the
bundled genomes (task=dna_pretrain; its training regions are the species task's, so no test
window is ever seen) and trains each variant from it (init_from), and scores the k-mer baseline
(benchmarks/kmer_baseline.py) on the same training windows and test windows. Prints one table,
and the same table in Markdown for BENCHMARKS.md.

    python benchmarks/dna_variants.py [--steps 800] [--pretrain-steps 400] [--out runs/variants]
        [--pretrained RUN] [key=value ...]

--pretrained uses a finished task=dna_pretrain run (of the same model) instead of pretraining;
the runs from scratch go first, so it only has to exist by the time they are done.

key=value overrides apply to every species run and to the k-mer baseline (e.g. data.batch_size=16
to halve the work of a step), so all rows see the same windows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from kmer_baseline import kmer_baseline, prepared_datamodule, score
from tables import print_results

from seqmodels.cli import compose_config
from seqmodels.training.fit import fit
from seqmodels.training.plots import read_metrics

VARIANTS = ("causal", "bidirectional", "rc_equivariant")
METRICS = ("acc", "f1", "mcc", "auroc")


def test_metrics(run: Path) -> dict[str, float]:
    series = read_metrics(run / "metrics.csv")
    return {name: series[f"test/{name}"][-1][1] for name in METRICS}


def timed_fit(overrides: list[str]) -> tuple[Path, float]:
    started = time.perf_counter()
    run = fit(compose_config(overrides))
    return run, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800, help="species training steps per model")
    parser.add_argument("--pretrain-steps", type=int, default=400)
    parser.add_argument("--pretrained", type=Path, help="a dna_pretrain run to use")
    parser.add_argument("--k", type=int, default=6, help="k of the k-mer baseline")
    parser.add_argument("--out", type=Path, default=Path("runs/variants"))
    parser.add_argument("overrides", nargs="*", help="species-task overrides (key=value)")
    args = parser.parse_args()
    common = [f"run_root={args.out}", "data.seq_len=1024", f"trainer.max_steps={args.steps}"]
    species = ["task=dna_species", *common, *args.overrides]

    rows = []

    def train_variants(start: Path | None) -> None:
        for variant in VARIANTS:
            extra = [f"model.variant={variant}"] + ([f"init_from={start}"] if start else [])
            run, seconds = timed_fit([*species, *extra])
            name = f"{variant}, {'pretrained' if start else 'from scratch'}"
            rows.append((name, test_metrics(run), f"{seconds / 60:.0f} min", None))

    train_variants(None)
    if args.pretrained:
        pretrained, took = args.pretrained.resolve(), "given"
    else:
        pretrain = [
            "task=dna_pretrain",
            f"run_root={args.out}",
            "data.seq_len=1024",
            f"trainer.max_steps={args.pretrain_steps}",
        ]
        pretrained, seconds = timed_fit(pretrain)
        took = f"{seconds / 60:.0f} min"
    bits = read_metrics(pretrained / "metrics.csv")["test/bits_per_base"][-1][1]
    rows.append((f"causal next-base pretraining ({pretrained.name})", None, took, bits))
    train_variants(pretrained)

    cfg = compose_config(species)
    y_test, probs, seconds = kmer_baseline(cfg, prepared_datamodule(cfg), args.k)
    rows.append((f"{args.k}-mer spectrum + logistic regression", score(y_test, probs), "", None))

    title = (
        f"species at {cfg.data.seq_len} bases: {len(y_test)} test windows, "
        f"{args.steps} steps of {cfg.data.batch_size} windows per model"
    )
    cells = []
    for name, metrics, took, bits_per_base in rows:
        if metrics is None:
            scores = [f"test: {bits_per_base:.3f} bits/base", "", "", ""]
        else:
            scores = [f"{metrics[m]:.3f}" for m in METRICS]
        cells.append([name, *scores, took])
    columns = ["model", "test acc", "macro-F1", "MCC", "AUROC", "training"]
    print_results(title, columns, cells)


if __name__ == "__main__":
    main()
