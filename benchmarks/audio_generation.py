"""Audio generation speed of the default audio model (audio_lm's, preset audio-small), CPU.

    python benchmarks/audio_generation.py [--steps 3000] [--seconds 5] [--modes eager compiled]

Prints samples per second at batch 1 and 16 (the generate command's sampling loop: recurrent
`step`, Gumbel-max sampling), then the time per sample at the start and at the end of a
`--seconds` generation at batch 16 (the fastest of the first and of the last four 1024-step
blocks): equal times mean the recurrent mode costs the same per sample however long the audio
gets. Weights are random: speed does not depend on them. The load average is printed too, since
other processes share the cores.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from rich.console import Console
from rich.table import Table

from seqmodels.commands.generate import PROGRESS_EVERY, compiled_step, sample
from seqmodels.models import LanguageModel, ModelConfig

RATE = 16000
GOAL = 16000  # samples per second in aggregate: real time at 16 kHz


def timed_sample(model, batch: int, steps: int, step_fn) -> tuple[float, list[float]]:
    """(seconds for the whole call, seconds per block of PROGRESS_EVERY steps)."""
    marks = [time.perf_counter()]
    start = marks[0]
    sample(
        model,
        batch,
        steps,
        1.0,
        step_fn=step_fn,
        on_progress=lambda k: marks.append(time.perf_counter()),
    )
    total = time.perf_counter() - start
    blocks = [b - a for a, b in zip(marks[:-1], marks[1:], strict=True)]
    return total, blocks[: steps // PROGRESS_EVERY]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="steps timed per batch size")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the flatness run")
    parser.add_argument("--modes", nargs="+", default=["eager", "compiled"])
    args = parser.parse_args()
    console = Console()
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig.preset("audio-small")).eval()
    config = model.config
    console.print(
        f"audio-small: d_model {config.d_model}, {config.n_layer} layers, d_state "
        f"{config.d_state}, {sum(p.numel() for p in model.parameters()):,} parameters; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )
    speed = Table(title="generation speed (samples per second, all sequences together)")
    for column in ("mode", "batch", "ms per step", "samples/s", "real time at 16 kHz"):
        speed.add_column(column, justify="right")
    flat = Table(title=f"time per sample across a {args.seconds:g} s generation (batch 16)")
    for column in ("mode", "start (µs per sample)", "end (µs per sample)", "end / start"):
        flat.add_column(column, justify="right")

    for mode in args.modes:
        step_fn = compiled_step(model, console) if mode == "compiled" else model.step
        if mode == "compiled":  # compile for both batch sizes before timing
            for batch in (1, 16):
                start = time.perf_counter()
                sample(model, batch, 2, step_fn=step_fn)
                console.print(f"compiled batch {batch} in {time.perf_counter() - start:.1f} s")
        for batch in (1, 16):
            sample(model, batch, 200, step_fn=step_fn)  # warm up
            total, _ = timed_sample(model, batch, args.steps, step_fn)
            per_step = total / args.steps
            rate = batch / per_step
            speed.add_row(
                mode, str(batch), f"{per_step * 1e3:.3f}", f"{rate:,.0f}", f"{rate / GOAL:.2f}x"
            )
        steps = round(args.seconds * RATE)
        _, blocks = timed_sample(model, 16, steps, step_fn)
        # the fastest of four blocks at each end: other processes only ever add time
        first, last = (min(b) / PROGRESS_EVERY / 16 for b in (blocks[:4], blocks[-4:]))
        flat.add_row(mode, f"{first * 1e6:.1f}", f"{last * 1e6:.1f}", f"{last / first:.2f}")
    console.print(speed)
    console.print(flat)
    console.print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
