"""Where a run's time goes: a short `seqmodels fit` under the torch profiler, broken down by stage
and by kind of work.

The run is the real one (same config, trainer, callbacks, logging and checkpoints as `seqmodels
fit`), only shorter: `--steps` training steps (validation as the task's epochs set it:
`data.train_samples_per_epoch=`), then the test pass. Lightning's
hooks are marked as profiler ranges, so each op is attributed to a stage (data, forward, backward,
optimizer, validation, test, checkpoints and callbacks) and to a kind (scan, conv, projections,
norms, embedding, loss and head, optimizer arithmetic, metrics, other). Times are CPU self-times
summed over ops, Python time inside a range counted with it; "outside every range" is the
run's setup (data, genome caches), the export and plots, and Lightning between its hooks.

    python benchmarks/profile_step.py [--task T] [--steps 40] [--threads 1] [key=value ...]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import defaultdict
from functools import partial

import lightning as L
import torch
from lightning.pytorch.profilers import Profiler
from torch.profiler import ProfilerActivity, profile, record_function
from torchmetrics import Metric

from seqmodels.cli import compose_config
from seqmodels.models import mixer
from seqmodels.training import fit as fit_module

# Lightning action names → stage. The first pattern that matches an enclosing range wins, from
# the innermost range outwards, so training_step inside optimizer_step counts as forward.
STAGES = [
    ("data", re.compile(r"dataloader_next|train_dataloader|_next$")),
    ("forward", re.compile(r"training_step")),
    ("backward", re.compile(r"\]\w*\.backward$|backward$")),
    ("optimizer", re.compile(r"optimizer_step|optimizer_zero_grad")),
    ("validation", re.compile(r"validation")),
    ("test", re.compile(r"test")),
    ("checkpoints and callbacks", re.compile(r"\[Callback\]|checkpoint|save")),
]
# op (or autograd node) names → kind of work; the outermost op that matches decides.
KINDS = [
    ("scan", re.compile(r"SelectiveScan|selective_scan", re.I)),
    ("conv", re.compile(r"conv", re.I)),
    ("norms", re.compile(r"rms_norm|RmsNorm|layer_norm|LayerNorm", re.I)),
    ("embedding", re.compile(r"embedding", re.I)),
    (
        "projections",
        re.compile(
            r"aten::linear|aten::addmm|aten::mm$|aten::matmul|MmBackward|AddmmBackward|LinearBackward"
        ),
    ),
    ("loss and head", re.compile(r"cross_entropy|nll_loss|log_softmax|LogSoftmax|NllLoss", re.I)),
    ("optimizer arithmetic", re.compile(r"Optimizer\.step|adamw|_foreach|lerp|addcdiv", re.I)),
    ("metrics", re.compile(r"^torchmetrics$")),
    ("logging", re.compile(r"^logging$")),
]


class RangeProfiler(Profiler):
    """Marks every Lightning action as a torch profiler range (Lightning calls start/stop)."""

    def __init__(self) -> None:
        super().__init__()
        self._open: dict[str, list[record_function]] = defaultdict(list)

    def start(self, action_name: str) -> None:
        scope = record_function(action_name)
        scope.__enter__()
        self._open[action_name].append(scope)

    def stop(self, action_name: str) -> None:
        if self._open[action_name]:
            self._open[action_name].pop().__exit__(None, None, None)

    def summary(self) -> str:
        return ""


def marked(fn, name: str):
    """fn, run inside a profiler range `name` (so Python time inside it is counted there)."""

    def wrapper(*args, **kwargs):
        with record_function(name):
            return fn(*args, **kwargs)

    return wrapper


def mark_work() -> None:
    """Ranges around the scan, the conv, metric updates and logging, which have no op of their
    own that names them (in inference the scan is a plain function, not an autograd node)."""
    mixer.selective_scan = marked(mixer.selective_scan, "selective_scan")
    mixer.causal_conv1d = marked(mixer.causal_conv1d, "causal_conv1d")
    for method in ("forward", "update", "compute"):
        setattr(Metric, method, marked(getattr(Metric, method), "torchmetrics"))
    for method in ("log", "log_dict"):
        setattr(L.LightningModule, method, marked(getattr(L.LightningModule, method), "logging"))


def classify(events) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    """Self CPU time (s) per stage, and per (stage, kind)."""
    parent = {}
    for event in events:
        for child in event.cpu_children:
            parent[id(child)] = event
    by_stage: dict[str, float] = defaultdict(float)
    by_kind: dict[tuple[str, str], float] = defaultdict(float)
    for event in events:
        chain = [event]
        while id(chain[-1]) in parent:
            chain.append(parent[id(chain[-1])])
        names = [e.name for e in chain]  # innermost first
        stage = next(
            (s for n in names for s, pattern in STAGES if pattern.search(n)),
            "other Lightning work",
        )
        # the ops between this event and its innermost Lightning range; the outermost decides
        ops = []
        for name in names:
            if name.startswith("["):
                break
            ops.append(name)
        kind = next(
            (k for n in reversed(ops) for k, pattern in KINDS if pattern.search(n)), "other ops"
        )
        seconds = event.self_cpu_time_total / 1e6
        by_stage[stage] += seconds
        by_kind[(stage, kind)] += seconds
    return by_stage, by_kind


def print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="dna_species")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=None)
    args, overrides = parser.parse_known_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as root:
        cfg = compose_config(
            [
                f"task={args.task}",
                f"run_root={root}",
                f"trainer.max_steps={args.steps}",
                *overrides,
            ]
        )
        fit_module.L.Trainer = partial(L.Trainer, profiler=RangeProfiler())
        mark_work()
        start = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fit_module.fit(cfg)
        wall = time.perf_counter() - start
    by_stage, by_kind = classify(prof.events())
    attributed = sum(by_stage.values())
    print(
        f"\n{args.task}: {args.steps} training steps, validation, the test pass; "
        f"{wall:.1f} s wall under the profiler, {attributed:.1f} s attributed to ops; "
        f"torch threads {torch.get_num_threads()}; overrides {' '.join(overrides) or '-'}\n"
    )
    rows = [
        [stage, f"{s:.2f}", f"{100 * s / wall:.1f}%"]
        for stage, s in sorted(by_stage.items(), key=lambda kv: -kv[1])
    ]
    rows.append(
        [
            "outside every range (setup, export, plots)",
            f"{wall - attributed:.2f}",
            f"{100 * (wall - attributed) / wall:.1f}%",
        ]
    )
    print_table(["stage", "s", "share of wall"], rows)
    for stage in ("forward", "backward", "optimizer", "validation", "test"):
        parts = {k: s for (st, k), s in by_kind.items() if st == stage}
        total = sum(parts.values())
        if not total:
            continue
        print(f"{stage}: {total:.2f} s of ops")
        print_table(
            ["kind", "s", f"share of {stage}"],
            [
                [k, f"{s:.2f}", f"{100 * s / total:.1f}%"]
                for k, s in sorted(parts.items(), key=lambda kv: -kv[1])
            ],
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
