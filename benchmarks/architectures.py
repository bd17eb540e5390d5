"""SSM, attention or both: quality, training cost and generation cost of the three backbones.

Variants at (near) equal parameter counts: `causal` (the SSM), `hybrid` (every second block
attention, the rest SSM) and `transformer` (attention blocks only), with model.mlp_ratio=auto
sizing an attention block like an SSM block (seqmodels/models/config.py); `transformer-w1k` is
the transformer with a sliding window of 1,024 tokens. Same data, steps and seeds for every one.

(1) quality: `seqmodels fit` per variant (ssm, hybrid, transformer) with --steps optimiser
    steps, each in a fresh process: task=dna_species (test accuracy on 1 kb windows, and the
    same model tested on 16 kb windows, 40 per species), the plasmid-vs-chromosome task
    fine-tuned from the variant's own --pretrain-steps of dna_pretrain (test accuracy), and
    task=audio_lm (test bits per sample; the lower the better); and the time and peak RSS of
    `seqmodels predict window=record` on the bundled K. pneumoniae genome (its 5.3 Mb
    chromosome in one pass) with the species model. Attention is windowed at the training
    length (model.attn_window=auto), which is what lets it read a whole record.
(2) training: one optimiser step (forward, cross-entropy, backward, AdamW) of the dna_species
    classifier (preset dna-tiny) on one sequence of L = 1k … 64k tokens, full attention (the
    training window is the whole sequence) and the 1k window. Each case runs in a fresh
    subprocess under a memory limit (--mem-gib), so its peak (ru_maxrss over the baseline after
    the model, the inputs and one warm-up step at 1,024 tokens) is its own, and a case that
    passes the limit or --case-timeout is shown as OOM or timeout. "x/dbl" is the CPU time at L
    over that at L/2 (2.0: linear; 4.0: quadratic).
(3) generation: the audio_lm model (preset audio-small) decodes one sequence token by token
    from an empty state (`step`); per length L the time per token over the tokens just before L,
    and the bytes of the state (SSM states; KV caches: growing with full attention, W tokens
    with a window).

One thread (torch.set_num_threads(1)) unless --threads: on a shared machine, read the ratios.

Usage: python benchmarks/architectures.py [--quick] [--tables 1,2,3] [--steps N]
       [--pretrain-steps N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from seqmodels.data.dna.tokens import COMPLEMENT, VOCAB_SIZE
from seqmodels.models import LanguageModel, ModelConfig, SequenceClassifier

ROOT = Path(__file__).resolve().parents[1]
# variant name → model fields (attn_window None: the length the table sets)
VARIANTS = {
    "ssm": dict(variant="causal"),
    "hybrid": dict(variant="hybrid"),
    "transformer": dict(variant="transformer"),
    "transformer-w1k": dict(variant="transformer", attn_window=1024),
}


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def config(preset: str, name: str, **fixed) -> ModelConfig:
    fields = {"attn_window": "full", **VARIANTS[name], **fixed}
    return ModelConfig.preset(preset, **fields)


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


# (2) training -----------------------------------------------------------------------------------


def train_case(name: str, length: int) -> dict[str, float]:
    """One training step of the species classifier at `length` tokens (in a fresh process)."""
    torch.manual_seed(0)
    model = SequenceClassifier(
        config("dna-tiny", name, vocab_size=VOCAB_SIZE, complement=COMPLEMENT), 5
    )
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    label = torch.zeros(1, dtype=torch.long)
    ids = torch.randint(1, 5, (1, length), generator=torch.Generator().manual_seed(1))

    def step(x: torch.Tensor) -> None:
        F.cross_entropy(model(x), label).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(ids[:, :1024])  # first-call work out of the measurement
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    step(ids)
    return {
        "s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base,
    }


def spawn(name: str, length: int, args: argparse.Namespace) -> dict | str:
    cmd = [sys.executable, __file__, "--case", name, str(length), "--threads", str(args.threads)]
    cmd += ["--mem-gib", str(args.mem_gib)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=args.case_timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    if proc.returncode != 0:
        out_of_memory = "MemoryError" in proc.stderr or "alloc" in proc.stderr.lower()
        return "OOM" if out_of_memory or proc.returncode < 0 else f"failed ({proc.returncode})"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def training_table(args: argparse.Namespace) -> None:
    names = list(VARIANTS)
    sizes = {
        n: parameters(SequenceClassifier(config("dna-tiny", n, vocab_size=VOCAB_SIZE), 5))
        for n in names
    }
    lengths = [2**k for k in range(10, (14 if args.quick else 16) + 1)]
    results = {n: {} for n in names}
    stopped = set()
    for length in lengths:
        for n in names:
            results[n][length] = "skipped" if n in stopped else spawn(n, length, args)
            if not isinstance(results[n][length], dict):
                stopped.add(n)  # longer sequences would fail too
    header = ["L"]
    for n in names:
        header += [f"{n} s", f"{n} MiB", f"{n} x/dbl"]
    rows = []
    for length in lengths:
        row = [f"{length:,}"]
        for n in names:
            r = results[n][length]
            if not isinstance(r, dict):
                row += [r, "", ""]
                continue
            prev = results[n].get(length // 2)
            ratio = f"{r['cpu_s'] / prev['cpu_s']:.2f}" if isinstance(prev, dict) else ""
            row += [f"{r['s']:.2f}", f"{r['mib']:.0f}", ratio]
        rows.append(row)
    params = ", ".join(f"{n} {sizes[n]:,}" for n in names)
    print_table(f"(2) one training step, dna-tiny classifier (parameters: {params})", header, rows)


# (3) generation ---------------------------------------------------------------------------------


def state_bytes(state) -> int:
    return sum(
        t.numel() * t.element_size()
        for layer in state
        for t in vars(layer).values()
        if isinstance(t, torch.Tensor)
    )


@torch.inference_mode()
def generation_table(args: argparse.Namespace) -> None:
    lengths = [2**k for k in range(10, (12 if args.quick else 14) + 1)]
    span = 128  # tokens timed before each length
    header, rows, sizes = ["generated"], [[f"{n:,}"] for n in lengths], []
    for name in VARIANTS:
        torch.manual_seed(0)
        model = LanguageModel(config("audio-small", name)).eval()
        sizes.append(f"{name} {parameters(model):,}")
        state = model.backbone.allocate_inference_cache(1)
        token = torch.zeros(1, dtype=torch.long)
        times, memory, start = {}, {}, 0.0
        for t in range(1, lengths[-1] + 1):
            if t in {n - span for n in lengths}:
                start = time.process_time()
            token = model.step(token, state).argmax(-1)
            if t in lengths:
                times[t] = (time.process_time() - start) / span * 1e3
                memory[t] = state_bytes(state) / 2**10
        header += [f"{name} ms/token", f"{name} state KiB"]
        for row, n in zip(rows, lengths, strict=True):
            row += [f"{times[n]:.2f}", f"{memory[n]:,.0f}"]
    title = f"(3) generation, audio-small language model (parameters: {', '.join(sizes)})"
    print_table(title, header, rows)


# (1) quality ------------------------------------------------------------------------------------

BUNDLED = ROOT / "seqmodels" / "data" / "dna" / "bundled"
PLASMIDS = [
    f"data.{split}={BUNDLED / 'plasmids' / f'{split}.tsv'}" for split in ("train", "val", "test")
] + [f"data.genome={BUNDLED / 'bacteria5' / 'klebsiella_pneumoniae.fa.gz'}"]


def in_subprocess(code: str) -> dict:
    """Run `code` (which prints one JSON line last) in a fresh interpreter, one torch thread."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{code[:200]}...\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit(argv: list[str]) -> tuple[Path, dict[str, float]]:
    """`seqmodels fit ARGV` → (the run, the last value of every metric in its metrics.csv)."""
    run = Path(
        in_subprocess(
            "import json, torch; torch.set_num_threads(1)\n"
            "from seqmodels.cli import compose_config\nfrom seqmodels.training.fit import fit\n"
            f"print(json.dumps(str(fit(compose_config({argv!r})))))"
        )
    )
    last: dict[str, float] = {}
    for row in csv.DictReader((run / "metrics.csv").open()):
        last.update({k: float(v) for k, v in row.items() if v not in ("", None)})
    return run, last


def test(argv: list[str]) -> dict[str, float]:
    """`seqmodels test ARGV` → its metrics."""
    return in_subprocess(
        "import json, torch; torch.set_num_threads(1)\n"
        "from seqmodels.cli import compose_config\nfrom seqmodels.training.fit import evaluate\n"
        f"print(json.dumps(evaluate(compose_config({argv!r}), 'test')))"
    )


def predict_record(run: Path, fasta: Path, out: Path) -> dict[str, float]:
    """Whole-record predict of `fasta` (window=record): seconds and peak RSS of its process."""
    return in_subprocess(
        "import json, resource, time, torch; torch.set_num_threads(1)\n"
        "from pathlib import Path\nfrom seqmodels.commands.predict_dna import predict_command\n"
        "began = time.perf_counter()\n"
        f"predict_command([{str(fasta)!r}], ckpt=Path({str(run)!r}), out=Path({str(out)!r}),"
        " window='record')\n"
        "print(json.dumps({'s': time.perf_counter() - began,"
        " 'mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )


def quality_table(args: argparse.Namespace) -> None:
    """Rows as they finish: species at 1 kb and tested at 16 kb, plasmid fine-tuning from each
    variant's own pretraining, audio_lm bits per sample, and whole-record predict."""
    names = ["ssm", "hybrid", "transformer"]  # attention windowed at the training length
    steps, pretrain_steps = args.steps, args.pretrain_steps
    model = {n: [f"model.{k}={v}" for k, v in VARIANTS[n].items()] for n in names}
    genome = BUNDLED / "bacteria5" / "klebsiella_pneumoniae.fa.gz"
    rows: dict[str, dict[str, str]] = {}

    def record(row: str, name: str, value: str) -> None:
        rows.setdefault(row, {})[name] = value
        print(f"  {row} / {name}: {value}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            base = [f"run_root={Path(tmp) / n}", f"trainer.max_steps={steps}", *model[n]]
            run, metrics = fit(["task=dna_species", *base])
            record("dna_species 1 kb test/acc", n, f"{metrics['test/acc']:.3f}")
            long = test(
                [
                    "task=dna_species",
                    f"ckpt={run}",
                    "data.seq_len=16384",
                    "data.test_windows_per_class=40",
                    *model[n],
                ]
            )
            record("dna_species at 16 kb test/acc", n, f"{long['test/acc']:.3f}")
            cost = predict_record(run, genome, Path(tmp) / n / "predictions")
            record("predict 5.3 Mb chromosome, window=record: s", n, f"{cost['s']:.0f}")
            record("predict 5.3 Mb chromosome, window=record: peak MiB", n, f"{cost['mib']:,.0f}")
            lm = [f"run_root={Path(tmp) / n}", f"trainer.max_steps={steps}", *model[n]]
            _, metrics = fit(["task=audio_lm", *lm])
            record("audio_lm test/bits_per_sample", n, f"{metrics['test/bits_per_sample']:.3f}")
            lpc = metrics["test/baseline_lpc_bits"]  # the same test windows for every variant
            record("audio_lm test bits, linear prediction", n, f"{lpc:.3f}")
            pre = [f"run_root={Path(tmp) / n}", f"trainer.max_steps={pretrain_steps}", *model[n]]
            pretrained, _ = fit(["task=dna_pretrain", *pre])
            _, metrics = fit(["task=dna_classify", f"init_from={pretrained}", *PLASMIDS, *base])
            record("plasmids fine-tuned test/acc", n, f"{metrics['test/acc']:.3f}")
    print_table(
        f"(1) quality after {steps} steps (pretraining {pretrain_steps}; seed 0)",
        ["task", *names],
        [[row, *(cells.get(n, "") for n in names)] for row, cells in rows.items()],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter lengths, fewer steps")
    parser.add_argument(
        "--tables", default="1,2,3", help="which tables: 1 quality, 2 training, 3 generation"
    )
    parser.add_argument("--steps", type=int, help="optimiser steps for (1) (default 300; quick 30)")
    parser.add_argument("--pretrain-steps", type=int, default=200, help="pretraining for (1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mem-gib", type=float, default=6.0, help="memory limit of a case in (2)")
    parser.add_argument("--case-timeout", type=float, default=300.0, help="seconds per case in (2)")
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # NAME L
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.case:
        limit = int(args.mem_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps(train_case(args.case[0], int(args.case[1]))))
        return
    args.steps = args.steps or (30 if args.quick else 300)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    tables = args.tables.split(",")
    if "2" in tables:
        training_table(args)
    if "3" in tables:
        generation_table(args)
    if "1" in tables:
        quality_table(args)


if __name__ == "__main__":
    main()
