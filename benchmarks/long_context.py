"""Long-context benchmark: inference (streaming) and one training step at L = 2^10 … 2^20.

For each length L (doubling), in a fresh subprocess per case so that a peak is the case's own:

- infer: class logits of one sequence of L tokens with `stream_classify` (seqmodels/models/
  streaming.py): the backbone reads `--segment` tokens at a time carrying its state, pooling
  accumulates, so memory stops growing at L = segment;
- train: one optimiser step of the species classifier on one sequence of L tokens: forward,
  cross-entropy, backward, AdamW step. Blocks are activation-checkpointed at every L
  (`--checkpointing true`, the default here, so that every length runs the same computation;
  model.checkpointing=auto switches it on above 16,384 tokens in a real run).

The model is the species task's default (preset dna-tiny: d_model 64, 2 layers, d_state 16,
causal, mean pooling, 5 classes), fp32 on the CPU; on a GPU (when present, or --device cuda)
bf16 autocast as the trainer's bf16-mixed precision does. Each case first makes one untimed call
at 1,024 tokens (first-call work: thread pools, allocator); the first call at L sets the peak
memory. The time is the fastest of that call and up to 5 more up to 2^17 tokens (fewer when they
add up to REPEAT_BUDGET_S), one more above it: on a shared machine other jobs only ever add time.
Memory: on the CPU the increase of the process's peak resident set size (getrusage ru_maxrss)
over what it was after building the model and the inputs and the call at 1,024 tokens, and the
process's whole peak ("total"); on a GPU torch.cuda.max_memory_allocated over the same baseline.
"x/doubling" is the time at L over the time at L/2 (2.0 is linear): on the CPU of the process's
CPU time (time.process_time, one thread with --threads 1), since wall time on a shared machine
also counts waiting for other jobs; the wall time is shown beside it. Below the table: the
average ratio per doubling from 2^14 tokens up:
(time at the longest L / time at 2^14) ** (1 / doublings).

Usage: python benchmarks/long_context.py [--min-log2 10] [--max-log2 20] [--threads N]
           [--device cpu|cuda|all] [--segment N] [--checkpointing true|false|auto]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from seqmodels.data.dna.tokens import COMPLEMENT, VOCAB_SIZE
from seqmodels.models import ModelConfig, SequenceClassifier
from seqmodels.models.streaming import default_segment, stream_classify, tensor_reader

REPEAT_BUDGET_S = 10.0  # stop repeating a case once its timed calls took this long
MAX_REPEATS = 5
REPEAT_UP_TO = 2**17  # longer cases are timed twice
MODES = ("infer", "train")
SUMMARY_FROM = 2**14  # the average ratio per doubling is reported from this length up


def build(device: str, checkpointing: bool | str) -> SequenceClassifier:
    torch.manual_seed(0)
    config = ModelConfig.preset(
        "dna-tiny", vocab_size=VOCAB_SIZE, complement=COMPLEMENT, checkpointing=checkpointing
    )
    return SequenceClassifier(config, 5, "mean").to(device)


def peak_mib(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def case_call(
    mode: str, model: SequenceClassifier, device: str, segment: int
) -> Callable[[torch.Tensor], None]:
    """The measured call for a mode, on token ids (1, L)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    label = torch.zeros(1, dtype=torch.long, device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")

    def infer(ids: torch.Tensor) -> None:
        model.eval()
        with torch.inference_mode(), autocast:
            stream_classify(model, tensor_reader(ids), ids.shape[1], segment)
        synchronize(device)

    def train(ids: torch.Tensor) -> None:
        model.train()
        with autocast:
            loss = F.cross_entropy(model(ids), label)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)

    return infer if mode == "infer" else train


def run_case(
    mode: str, length: int, device: str, segment: int, checkpointing: bool | str
) -> dict[str, float]:
    """Time and measure one (mode, L) in this process (a fresh subprocess)."""
    model = build(device, checkpointing)
    call = case_call(mode, model, device, segment)
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 5, (1, length), generator=generator).to(device)
    call(ids[:, :1024])  # first-call work (thread pools, allocator) out of the measurements
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
    else:
        base = peak_mib(device)

    def timed() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        call(ids)
        return time.perf_counter() - wall, time.process_time() - cpu

    times = [timed()]  # the first call at L sets the peak, and is timed like the others
    mib, total = peak_mib(device) - base, peak_mib(device)
    repeats = MAX_REPEATS if length <= REPEAT_UP_TO else 1
    while len(times) <= repeats and sum(t[0] for t in times) < REPEAT_BUDGET_S:
        times.append(timed())
    return {  # the fastest call: other jobs on the machine only ever add time
        "s": min(t[0] for t in times),
        "cpu_s": min(t[1] for t in times),
        "repeats": len(times),
        "mib": mib,
        "total_mib": total,
    }


def spawn_case(mode: str, length: int, args: argparse.Namespace, device: str) -> dict[str, float]:
    """Run one case in a fresh interpreter, so that its peak memory is its own."""
    cmd = [sys.executable, __file__, "--case", mode, str(length), device]
    cmd += ["--segment", str(args.segment or default_segment(device))]
    cmd += ["--checkpointing", args.checkpointing]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} at L = {length} on {device} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def checkpointing_value(text: str) -> bool | str:
    return {"true": True, "false": False, "auto": "auto"}[text]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-log2", type=int, default=10)
    parser.add_argument("--max-log2", type=int, default=20)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's default)")
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--segment", type=int, help="streaming segment (default: the device's)")
    parser.add_argument("--checkpointing", choices=("true", "false", "auto"), default="true")
    parser.add_argument("--modes", default=",".join(MODES), help="infer,train")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)  # MODE L DEVICE
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    checkpointing = checkpointing_value(args.checkpointing)
    if args.case:
        mode, length, device = args.case
        result = run_case(mode, int(length), device, args.segment, checkpointing)
        print(json.dumps(result))
        return

    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    modes = [m for m in args.modes.split(",") if m in MODES]
    lengths = [2**k for k in range(args.min_log2, args.max_log2 + 1)]
    print(
        f"long context: dna-tiny classifier (d_model 64, 2 layers), batch 1, streaming segment "
        f"{args.segment or 'the default'}, checkpointing {args.checkpointing} in training; torch "
        f"{torch.__version__}, threads: {torch.get_num_threads()}, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    for device in devices:
        unit = "GPU MiB" if device == "cuda" else "MiB"
        # on the CPU the ratio is of CPU time: on a shared machine wall time waits for other jobs
        key = "s" if device == "cuda" else "cpu_s"
        header = ["L"]
        for mode in modes:
            if device == "cpu":
                header.append(f"{mode} wall s")
            header += [f"{mode} {'s' if device == 'cuda' else 'CPU s'}", f"{mode} x/doubling"]
            header.append(f"{mode} peak {unit}")
        if "train" in modes:
            header.append(f"train total {unit}")
        rows, previous = [], {}
        times: dict[str, dict[int, float]] = {mode: {} for mode in modes}
        for length in lengths:
            row = [f"{length:,} (2^{length.bit_length() - 1})"]
            for mode in modes:
                print(f"{device} {mode} at L = {length:,}", file=sys.stderr, flush=True)
                r = spawn_case(mode, length, args, device)
                ratio = f"{r[key] / previous[mode]:.2f}" if mode in previous else ""
                previous[mode] = times[mode][length] = r[key]
                if device == "cpu":
                    row.append(f"{r['s']:.3f}")
                row += [f"{r[key]:.3f}", ratio, f"{r['mib']:.0f}"]
                if mode == "train":
                    row.append(f"{r['total_mib']:.0f}")
            rows.append(row)
        print(f"{device} (streaming segment {args.segment or default_segment(device):,}):")
        print_table(header, rows)
        first = max(lengths[0], SUMMARY_FROM)
        if lengths[-1] > first:
            doublings = (lengths[-1] // first).bit_length() - 1
            for mode in modes:
                ratio = (times[mode][lengths[-1]] / times[mode][first]) ** (1 / doublings)
                print(
                    f"{mode}: {ratio:.2f}x per doubling on average from {first:,} to "
                    f"{lengths[-1]:,} tokens"
                )
        print()


if __name__ == "__main__":
    main()
