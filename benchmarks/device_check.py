"""The model-level steps of benchmarks/device_check.sh: a training step and audio generation.

train: one optimiser step (forward, next-token cross-entropy, backward, AdamW) of the dna-base
  preset's language model (d_model 256, 8 layers, d_state 16; activation checkpointing as
  model.checkpointing=auto decides) on one sequence of L tokens, bf16 autocast as the trainer's
  bf16-mixed. One untimed step at L first (Triton compilation and autotuning, allocator); then
  the time of the next step, tokens/s, and torch.cuda.max_memory_allocated during it.
defaults: what each GPU default of `seqmodels fit` adds: the same step with bf16-mixed, the
  fused AdamW or torch.compile of the blocks' plain-torch parts (compile=true) switched, and the
  dna_species loader's batches/s with 0 workers or data.num_workers=auto, unpinned or pinned.
generate: samples/s of the audio-small language model's recurrent sampling loop
  (seqmodels.commands.generate.sample) at --batch sequences, after a warm-up.

Usage: python benchmarks/device_check.py train [--lengths 65536,1048576] [--dry-run]
       python benchmarks/device_check.py defaults [--length 65536] [--steps 10] [--dry-run]
       python benchmarks/device_check.py generate [--batch 64] [--steps 2000] [--dry-run]
--dry-run: the CPU, tiny lengths and few steps; checks the script, measures nothing.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F

from seqmodels.cli import compose_config
from seqmodels.commands.generate import sample
from seqmodels.data.datamodule import worker_count
from seqmodels.data.dna.tokens import COMPLEMENT, VOCAB_SIZE
from seqmodels.models import LanguageModel, ModelConfig
from seqmodels.models.compiled import compile_blocks
from seqmodels.tasks.registry import task_module


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def train(lengths: list[int], device: str) -> None:
    torch.manual_seed(0)
    config = ModelConfig.preset("dna-base", vocab_size=VOCAB_SIZE, complement=COMPLEMENT)
    model = LanguageModel(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
    params = sum(p.numel() for p in model.parameters())
    print(f"dna-base language model: {params:,} parameters, d_inner {config.d_inner}, on {device}")
    print("\n| tokens | step s | tokens/s | peak MiB |\n|---|---|---|---|")

    def step(ids: torch.Tensor) -> None:
        training_step(model, optimizer, autocast, ids)()
        synchronize(device)

    for length in lengths:
        ids = torch.randint(1, 5, (1, length + 1), generator=torch.Generator().manual_seed(1))
        ids = ids.to(device)
        try:
            step(ids)  # compilation, autotuning, allocator
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            began = time.perf_counter()
            step(ids)
            seconds = time.perf_counter() - began
        except torch.cuda.OutOfMemoryError:
            print(f"| {length} | (out of memory) | | |")
            optimizer.zero_grad(set_to_none=True)
            continue
        peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
        print(f"| {length} | {seconds:.3f} | {length / seconds:,.0f} | {peak:,.0f} |", flush=True)
        del ids


def generate(batch: int, steps: int, device: str) -> None:
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig.preset("audio-small")).to(device).eval()
    print(f"audio-small language model, recurrent sampling, batch {batch}, on {device}")
    with torch.inference_mode():
        sample(model, batch, min(100, steps), 1.0)  # warm-up: compilation, caches
        synchronize(device)
        began = time.perf_counter()
        sample(model, batch, steps, 1.0)
        synchronize(device)
        seconds = time.perf_counter() - began
    print(
        "\n| batch | steps | s | samples/s (all sequences) | ms per step |\n|---|---|---|---|---|"
    )
    rate, per_step = batch * steps / seconds, seconds / steps * 1e3
    print(f"| {batch} | {steps} | {seconds:.2f} | {rate:,.0f} | {per_step:.3f} |")


def timed_steps(step, steps: int, device: str) -> float:
    """Seconds per call of step() over `steps` calls, after two untimed ones (compilation)."""
    for _ in range(2):
        step()
    synchronize(device)
    began = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - began) / steps


def training_step(model, optimizer, autocast, ids: torch.Tensor):
    """step(): forward, next-token cross-entropy, backward and an optimiser step on `ids`."""

    def step() -> None:
        with autocast:
            logits, _ = model(ids[:, :-1])
            loss = F.cross_entropy(logits.flatten(0, 1).float(), ids[:, 1:].flatten())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def defaults(length: int, steps: int, device: str) -> None:
    """What each GPU default of `seqmodels fit` adds: the training step of `train` at one length
    with one default switched off at a time, and the loader's batches/s without and with worker
    processes and pinned memory."""
    config = ModelConfig.preset("dna-base", vocab_size=VOCAB_SIZE, complement=COMPLEMENT)
    ids = torch.randint(1, 5, (1, length + 1), generator=torch.Generator().manual_seed(1))
    ids = ids.to(device)
    cases = [  # (what, bf16 autocast, fused AdamW, compile_blocks)
        ("defaults: bf16-mixed, fused AdamW", True, True, False),
        ("fp32 instead of bf16-mixed", False, True, False),
        ("AdamW foreach instead of fused", True, False, False),
        ("defaults + compile=true", True, True, True),
    ]
    print(f"dna-base language model, one sequence of {length:,} tokens, {steps} steps each")
    print("\n| training step | ms | vs defaults |\n|---|---|---|")
    base = None
    for what, bf16, fused, compiled in cases:
        torch.manual_seed(0)
        model = LanguageModel(config).to(device).train()
        if compiled:
            compile_blocks(model)
        fused = fused and device == "cuda"
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=fused, foreach=not fused)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16 and device == "cuda")
        seconds = timed_steps(training_step(model, optimizer, autocast, ids), steps, device)
        base = base or seconds
        print(f"| {what} | {seconds * 1e3:.1f} | {seconds / base:.2f}x |", flush=True)
    loaders(device)


def loaders(device: str) -> None:
    """Batches/s of the dna_species training loader (windows of the bundled genomes, to the
    device), with data.num_workers=0 and auto, pinned memory off and on."""
    cfg = compose_config(["task=dna_species"])
    auto = worker_count("auto")
    print("\n| dna_species loader | batches/s | vs 0 workers, unpinned |\n|---|---|---|")
    base = None
    for workers, pinned in ((0, False), (0, True), (auto, True)):
        cfg.data.num_workers = workers
        datamodule = task_module("dna_species").build_datamodule(cfg)
        datamodule.setup("fit")
        loader = datamodule.train_dataloader()
        loader.pin_memory = pinned and device == "cuda"
        batches, began = 0, 0.0
        for batch in loader:
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            if batches == 0:  # timed from the first batch: worker start-up is paid once per run
                began = time.perf_counter()
            batches += 1
            if batches == 301:
                break
        batches -= 1
        synchronize(device)
        rate = batches / (time.perf_counter() - began)
        base = base or rate
        pinned = loader.pin_memory
        print(f"| {workers} workers, pinned {pinned} | {rate:,.0f} | {rate / base:.2f}x |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p_train = sub.add_parser("train", help="one optimiser step of dna-base at each length")
    p_train.add_argument("--lengths", default=f"{2**16},{2**20}")
    p_def = sub.add_parser("defaults", help="what bf16, fused AdamW, compile, workers add")
    p_def.add_argument("--length", type=int, default=2**16)
    p_def.add_argument("--steps", type=int, default=10)
    p_gen = sub.add_parser("generate", help="audio generation samples/s")
    p_gen.add_argument("--batch", type=int, default=64)
    p_gen.add_argument("--steps", type=int, default=2000)
    for p in (p_train, p_def, p_gen):
        p.add_argument("--dry-run", action="store_true", help="the CPU, tiny shapes")
    args = parser.parse_args(argv)
    if args.dry_run:
        device = "cpu"
        print("dry run: the CPU, tiny shapes; nothing here is a measurement")
    elif torch.cuda.is_available():
        device = "cuda"
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    else:
        print("device_check.py needs a CUDA GPU (none found); --dry-run checks it on the CPU")
        return 2
    if args.what == "train":
        lengths = [128, 256] if args.dry_run else [int(v) for v in args.lengths.split(",")]
        train(lengths, device)
    elif args.what == "defaults":
        defaults(128 if args.dry_run else args.length, 1 if args.dry_run else args.steps, device)
    else:
        generate(args.batch, 10 if args.dry_run else args.steps, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
