"""Compile every Triton kernel of seqmodels ahead of time for NVIDIA GPUs, without a GPU.

What gets compiled is what the launchers would launch: each kernel's `kernel[grid](...)` is
swapped for a recorder, the launchers run on small CPU tensors (forward and backward, through the
autograd Function), and each recorded launch is then compiled the way `JITFunction.run` would
compile it on a GPU (its binder specialises the arguments, `_pack_args` gives the signature,
constexprs and attributes, `triton.compile` the cubin), for every autotune config the launcher's
pruning keeps, with the heuristics applied, but for a chosen `GPUTarget` instead of the current
device's. The ptxas bundled with the triton wheel produces the cubin; no driver is needed.
Registers and spills come from ptxas's own report (`-v`, which Triton already passes and prints
when `knobs.nvidia.dump_ptxas_log` is on): `CompiledKernel.n_regs`/`n_spills` are only filled in
when a driver loads the binary.

Must run without TRITON_INTERPRET (under the interpreter `triton.jit` gives interpreted functions,
which cannot be compiled): tests/kernels/test_triton_compile.py runs this file in a subprocess.

Usage: python tests/kernels/triton_aot.py [--full] [--jobs 2] [--json report.json]
Prints one line per compiled kernel; exits 1 on a compile error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from unittest import mock

if os.environ.get("TRITON_INTERPRET", "0") == "1":
    sys.exit(
        "triton_aot.py must run without TRITON_INTERPRET=1 (interpreted kernels don't compile)"
    )

import torch  # noqa: E402
import triton  # noqa: E402
from triton import knobs  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource, make_backend  # noqa: E402
from triton.runtime.autotuner import Autotuner, Heuristics  # noqa: E402
from triton.runtime.jit import JITFunction, create_function_from_signature  # noqa: E402

from seqmodels.kernels.causal_conv import triton as conv_module  # noqa: E402
from seqmodels.kernels.scan import triton as scan_module  # noqa: E402
from seqmodels.kernels.state_update import triton as update_module  # noqa: E402

# (module, kernel attribute) of every Triton kernel in the package; a new kernel must be added here
# (test_triton_compile.py checks that every launcher-reachable kernel was recorded)
KERNELS = (
    (scan_module, "_scan_local_kernel"),
    (scan_module, "_scan_fwd_kernel"),
    (scan_module, "_scan_bwd_kernel"),
    (update_module, "_state_update_kernel"),
    (conv_module, "_conv_update_kernel"),
)
ARCHS = {"sm_80": 80, "sm_90": 90}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass
class Launch:
    """One recorded `kernel[grid](*args, **kwargs)`, and the case that made it."""

    kernel: str
    args: tuple
    kwargs: dict
    case: dict


@dataclass
class Compiled:
    kernel: str
    arch: str
    case: dict
    meta: dict  # the constexprs that tell variants apart (flags, blocks, config)
    num_warps: int = 0
    registers: int | None = None
    spill_stores: int | None = None
    spill_loads: int | None = None
    stack_bytes: int | None = None
    seconds: float = 0.0
    error: str | None = None
    cases: list[dict] = field(default_factory=list)  # every case that launched this variant


class _Recorder:
    def __init__(self, name: str, log: list[Launch], case: dict):
        self.name, self.log, self.case = name, log, case

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            self.log.append(Launch(self.name, args, kwargs, dict(self.case)))

        return launch


@contextlib.contextmanager
def recording(log: list[Launch], case: dict):
    """Swap every kernel for a recorder while the launchers run."""
    saved = [(module, name, getattr(module, name)) for module, name in KERNELS]
    try:
        for module, name, _ in saved:
            setattr(module, name, _Recorder(name, log, case))
        yield
    finally:
        for module, name, kernel in saved:
            setattr(module, name, kernel)


# ---------------------------------------------------------------------------------------------
# The cases: what the launchers are run on


def _rand(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def run_scan(dtype, d_state, *, h0, last, grad, segments, dim=512, length=1024, batch=2):
    """The model's flag set (D, z, delta_bias, softplus), with or without an initial state (that
    needs a gradient), a used last state, a backward, and a forced plan (1 segment, or 2)."""
    t = {
        "u": _rand(batch, dim, length, dtype=dtype),
        "delta": _rand(batch, dim, length, dtype=dtype),
        "A": -torch.rand(dim, d_state),
        "B": _rand(batch, d_state, length, dtype=dtype),
        "C": _rand(batch, d_state, length, dtype=dtype),
        "D": _rand(dim),
        "z": _rand(batch, dim, length, dtype=dtype),
        "delta_bias": _rand(dim),
        "initial_state": _rand(batch, dim, d_state) if h0 else None,
    }
    if grad:
        for v in t.values():
            if v is not None:
                v.requires_grad_()
    args = (*t.values(),)
    # the autograd Function directly: the public function refuses CPU tensors outside the
    # interpreter, and the kernels are recorded, not run
    with torch.set_grad_enabled(grad):
        y, state = scan_module._SelectiveScanFn.apply(True, None, segments, *args)
    if grad:
        loss = y.float().sum() + (state.sum() if last else 0)
        loss.backward()


def run_state_update(dtype, d_state, *, full_flags=True, dim=512, batch=4):
    """With D, z, dt_bias and softplus (the model's), or none of them."""
    state = torch.zeros(batch, dim, d_state)
    x, dt = _rand(batch, dim, dtype=dtype), _rand(batch, dim, dtype=dtype)
    B, C = _rand(batch, d_state, dtype=dtype), _rand(batch, d_state, dtype=dtype)
    opt = (_rand(dim), _rand(batch, dim, dtype=dtype), _rand(dim)) if full_flags else (None,) * 3
    # the public function past its device check (CPU tensors): the kernel is recorded, not run
    with mock.patch.object(update_module, "check_device", lambda *_: None):
        update_module.selective_state_update_triton(
            state, x, dt, -torch.rand(dim, d_state), B, C, *opt, full_flags
        )


def run_conv_update(dtype, *, bias=True, dim=1024, batch=4, width=4):
    x, state = _rand(batch, dim, dtype=dtype), torch.zeros(batch, dim, width - 1, dtype=dtype)
    conv_module._conv_update(x, state, _rand(dim, width), _rand(dim) if bias else None)


def run(case: dict) -> None:
    """Run the launcher a case describes."""
    dtype = DTYPES[case["dtype"]]
    if case["fn"] == "scan":
        options = {k: case[k] for k in ("h0", "last", "grad", "segments")}
        run_scan(dtype, case["d_state"], **options)
    elif case["fn"] == "state_update":
        run_state_update(dtype, case["d_state"], full_flags=case["full_flags"])
    else:
        run_conv_update(dtype, bias=case["bias"])


def cases(full: bool) -> list[dict]:
    """Default: bf16 and fp32 at d_state 16: training steps (single pass and sequence-parallel,
    no initial state, last state unused, as in the model), inference, the decode kernels. Full:
    also d_state 64, with and without an initial state (with its gradient) and a used last state,
    no-grad forwards with an initial state, the decode kernels without their optional inputs."""
    out = []
    both = (False, True) if full else (False,)
    for dtype in ("bf16", "fp32"):
        for d_state in (16, 64) if full else (16,):
            for segments in (1, 2):
                scan = dict(fn="scan", dtype=dtype, d_state=d_state, segments=segments)
                out += [scan | dict(h0=h0, last=last, grad=True) for h0 in both for last in both]
                out += [scan | dict(h0=h0, last=True, grad=False) for h0 in both]
            update = dict(fn="state_update", dtype=dtype, d_state=d_state)
            out += [update | dict(full_flags=not bare) for bare in both]
        out += [dict(fn="conv_update", dtype=dtype, bias=not bare) for bare in both]
    return out


# ---------------------------------------------------------------------------------------------
# Compilation


def _chain(kernel) -> tuple[Autotuner | None, list[Heuristics], JITFunction]:
    autotuner, heuristics = None, []
    while not isinstance(kernel, JITFunction):
        if isinstance(kernel, Autotuner):
            autotuner = kernel
        elif isinstance(kernel, Heuristics):
            heuristics.append(kernel)
        else:
            raise TypeError(f"unexpected kernel wrapper {type(kernel).__name__}")
        kernel = kernel.fn
    return autotuner, heuristics, kernel


def variants(launch: Launch, kernel) -> list[tuple[dict, JITFunction]]:
    """The keyword arguments of every launch the autotuner may make (each config its pruning
    keeps), with the heuristics applied: what JITFunction.run receives."""
    autotuner, heuristics, jit = _chain(kernel)
    configs = [None]
    if autotuner is not None:
        autotuner.nargs = dict(zip(autotuner.arg_names, launch.args, strict=False))
        configs = autotuner.configs
        if len(configs) > 1:  # as Autotuner.run: a single config is used unpruned
            configs = autotuner.prune_configs(launch.kwargs)
        autotuner.nargs = None
    out = []
    for config in configs:
        kwargs = dict(launch.kwargs)
        if config is not None:
            kwargs |= config.all_kwargs()
        for h in heuristics:
            named = dict(zip(h.arg_names, launch.args, strict=False))
            for name, rule in h.values.items():
                kwargs[name] = rule({**named, **kwargs})
        out.append((kwargs, jit))
    return out


_PTXAS = {
    "registers": re.compile(r"Used (\d+) registers"),
    "stack_bytes": re.compile(r"(\d+) bytes stack frame"),
    "spill_stores": re.compile(r"(\d+) bytes spill stores"),
    "spill_loads": re.compile(r"(\d+) bytes spill loads"),
}


def compile_one(jit: JITFunction, args: tuple, kwargs: dict, cc: int) -> dict:
    """Compile as JITFunction.run does, for GPUTarget("cuda", cc, 32); ptxas's register report."""
    target = GPUTarget("cuda", cc, 32)
    backend = make_backend(target)
    kwargs = dict(kwargs)
    kwargs["debug"] = kwargs.get("debug", jit.debug) or knobs.runtime.debug
    kwargs["instrumentation_mode"] = knobs.compilation.instrumentation_mode
    binder = create_function_from_signature(jit.signature, jit.params, backend)
    bound_args, specialization, options = binder(*args, **kwargs)
    options, signature, constexprs, attrs = jit._pack_args(
        backend, kwargs, bound_args, specialization, options
    )
    knobs.nvidia.dump_ptxas_log = True
    log = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(log):
        compiled = triton.compile(
            ASTSource(jit, signature, constexprs, attrs), target=target, options=options.__dict__
        )
    out = {"seconds": time.perf_counter() - began, "num_warps": compiled.metadata.num_warps}
    assert compiled.asm.get("cubin"), "no cubin"
    for key, pattern in _PTXAS.items():
        found = pattern.findall(log.getvalue())
        out[key] = max(map(int, found)) if found else None
    return out


def _key(kernel_name: str, jit: JITFunction, args: tuple, kwargs: dict, cc: int) -> str:
    """Tells launches apart as Triton's cache would: the binder's specialisation and options."""
    backend = make_backend(GPUTarget("cuda", cc, 32))
    binder = create_function_from_signature(jit.signature, jit.params, backend)
    _, specialization, options = binder(*args, **kwargs)
    return f"{kernel_name}|{cc}|{specialization}|{sorted(options.items())}"


_JOBS: list = []  # filled before the pool forks


def _work(i: int) -> dict:
    jit, args, kwargs, cc = _JOBS[i]
    try:
        return compile_one(jit, args, kwargs, cc)
    except Exception as error:  # reported, and the test fails on it
        return {"error": f"{type(error).__name__}: {str(error)[-2000:]}"}


def _meta(kwargs: dict) -> dict:
    return {
        k: v
        for k, v in kwargs.items()
        if k.isupper() or k in ("num_warps",)
        if isinstance(v, bool | int) or v is None
    }


def collect(full: bool, archs: list[str]) -> list[tuple[Compiled, tuple]]:
    """Record every case's launches, expand them into the variants to compile, deduplicated."""
    log: list[Launch] = []
    for case in cases(full):
        with recording(log, case):
            run(case)
    kernels = {name: getattr(module, name) for module, name in KERNELS}
    unique: dict[str, tuple[Compiled, tuple]] = {}
    for launch in log:
        for kwargs, jit in variants(launch, kernels[launch.kernel]):
            for arch in archs:
                cc = ARCHS[arch]
                key = _key(launch.kernel, jit, launch.args, kwargs, cc)
                if key in unique:
                    unique[key][0].cases.append(launch.case)
                    continue
                entry = Compiled(launch.kernel, arch, launch.case, _meta(kwargs))
                entry.cases.append(launch.case)
                unique[key] = (entry, (jit, launch.args, kwargs, cc))
    return list(unique.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="every case, not the default subset")
    parser.add_argument("--archs", default="sm_80,sm_90")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    entries = collect(args.full, args.archs.split(","))
    _JOBS[:] = [job for _, job in entries]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_work, range(len(_JOBS))))
    else:
        results = [_work(i) for i in range(len(_JOBS))]
    report = []
    for (entry, _), result in zip(entries, results, strict=True):
        for k, v in result.items():
            setattr(entry, k, v)
        report.append(asdict(entry))
        flags = " ".join(
            f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in entry.meta.items()
        )
        status = (
            entry.error.splitlines()[0]
            if entry.error
            else f"{entry.registers} regs, spills {entry.spill_stores}/{entry.spill_loads} B "
            f"(stores/loads), stack {entry.stack_bytes} B, {entry.seconds:.1f} s"
        )
        where = f"{entry.kernel:22} {entry.arch} {entry.case['dtype']}"
        print(f"{where} d_state={entry.case.get('d_state', '-')}: {status} [{flags}]")
    elapsed = time.perf_counter() - began
    print(
        f"{len(report)} kernels compiled in {elapsed:.0f} s with {args.jobs} jobs "
        f"(triton {triton.__version__})"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seconds": elapsed, "triton": triton.__version__, "kernels": report}, f)
    return 1 if any(r["error"] for r in report) else 0


if __name__ == "__main__":
    sys.exit(main())
