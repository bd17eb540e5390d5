"""Per-token time of one decode step early and late in a long generation: it should be flat.

A decode step of one Mamba mixer is the causal-conv update then the selective state update, both
on fixed-size states, so token 100k should cost what token 100 costs. The layer is Mamba-130M's
(d_model 768: d_inner 1536, d_state 16, conv width 4). Steps run back to back from token 0 through
`seqmodels.kernels` (the Triton kernels for CUDA tensors, the torch fallback on the CPU); the mean
time per token over a window of WINDOW tokens is printed at token 100 and at token --late. On a
GPU the window is timed between CUDA events with one synchronisation per window, as in
generation; inputs cycle through a pool drawn up front, so no RNG is timed. One table row per
--batches entry (default 1 and 64).

Usage: python benchmarks/decode_gpu.py [--late 100000] [--batches 1,64] [--device cuda|cpu]
(on the CPU, a short --late such as 2000 checks the script in seconds)
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from seqmodels.kernels import causal_conv1d_update, scan_backend, selective_state_update

D_INNER, D_STATE, WIDTH = 1536, 16, 4
WINDOW, EARLY, POOL = 200, 100, 64


class Layer:
    """Parameters, states and a pool of per-token inputs for one mixer."""

    def __init__(self, batch: int, device: torch.device):
        g = torch.Generator(device=device).manual_seed(0)

        def rand(*shape):
            return torch.randn(*shape, generator=g, device=device)

        self.conv_weight, self.conv_bias = rand(D_INNER, WIDTH) / WIDTH, rand(D_INNER)
        self.A = -torch.arange(1, D_STATE + 1.0, device=device).repeat(D_INNER, 1)
        self.D, self.dt_bias = rand(D_INNER), rand(D_INNER) * 0.1 - 4
        self.conv_state = torch.zeros(batch, D_INNER, WIDTH - 1, device=device)
        self.ssm_state = torch.zeros(batch, D_INNER, D_STATE, device=device)
        self.pool = [
            (rand(batch, D_INNER), rand(batch, D_INNER), rand(batch, D_INNER))
            + (rand(batch, D_STATE), rand(batch, D_STATE))
            for _ in range(POOL)
        ]  # (x, dt, z, B, C) per token

    def step(self, token: int) -> torch.Tensor:
        x, dt, z, B, C = self.pool[token % POOL]
        x = F.silu(causal_conv1d_update(x, self.conv_state, self.conv_weight, self.conv_bias))
        return selective_state_update(
            self.ssm_state, x, dt, self.A, B, C, self.D, z, self.dt_bias, dt_softplus=True
        )


def window_us(layer: Layer, start: int, device: torch.device) -> float:
    """Mean microseconds per token over tokens [start, start + WINDOW)."""
    if device.type == "cuda":
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for token in range(start, start + WINDOW):
            layer.step(token)
        end.record()
        end.synchronize()
        return begin.elapsed_time(end) * 1e3 / WINDOW
    began = time.perf_counter()
    for token in range(start, start + WINDOW):
        layer.step(token)
    return (time.perf_counter() - began) * 1e6 / WINDOW


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--late", type=int, default=100_000, help="token of the late window")
    parser.add_argument("--batches", default="1,64", help="batch sizes, comma-separated")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here: leave --device out to run on the CPU")
    batches = [int(b) for b in args.batches.split(",")]
    if args.late < EARLY + WINDOW:
        parser.error(f"--late must be at least {EARLY + WINDOW}")
    print(
        f"decode step (conv update + state update), d_inner {D_INNER}, d_state {D_STATE}, width "
        f"{WIDTH}, on {device}"
    )
    print(f"\n| batch | backend | state KiB | us/token at {EARLY} | at {args.late} | late/early |")
    print("|---|---|---|---|---|---|")
    for batch in batches:
        layer = Layer(batch, device)
        state_bytes = sum(t.numel() * t.element_size() for t in (layer.conv_state, layer.ssm_state))
        x = layer.pool[0][0]
        backend = "Triton kernels" if scan_backend(x) == "triton" else "torch reference"
        for token in range(EARLY):  # warm-up: compilation, caches
            layer.step(token)
        early = window_us(layer, EARLY, device)
        for token in range(EARLY + WINDOW, args.late):
            layer.step(token)
        late = window_us(layer, args.late, device)
        print(
            f"| {batch} | {backend} | {state_bytes / 1024:.0f} | {early:.1f} | {late:.1f} "
            f"| {late / early:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
