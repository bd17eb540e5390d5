"""Test-session setup and the fixtures that tests across the suite share.

Setup that must happen before any test module imports triton: without a GPU, Triton kernels run
on CPU tensors through Triton's interpreter, which `triton.jit` reads when it decorates a kernel,
i.e. when triton (or lightning, which imports it) is first imported. Switching it on here, before
collection, covers every test module. (seqmodels is imported inside the fixtures for the same
reason: nothing here imports lightning before the switch.)

Fixtures:
- `quick`: overrides for a tiny run that trains in seconds on a CPU;
- `workdir` / `isolated`: a test module's own folder, and a test run inside it (runs, predictions
  and genome caches land there, never in the checkout);
- `trained_run`: one tiny dna_species run, trained once per session, for tests that only need
  a trained classifier;
- `one_line_error`: a command that must fail with one line a user can act on.
"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

TINY_MODEL = ("model.d_model=16", "model.n_layer=1")
QUICK = {
    "dna_species": (
        "data.seq_len=64",
        "data.batch_size=4",
        "data.train_samples_per_epoch=8",
        "data.val_windows_per_class=2",
        "data.test_windows_per_class=2",
        *TINY_MODEL,
        "trainer.max_steps=3",
    ),
    "dna_classify": ("data.batch_size=4", *TINY_MODEL, "trainer.fast_dev_run=true"),
}


def pytest_runtest_setup(item):
    """Tests marked `gpu` run where there is a CUDA device and skip, with the reason, elsewhere."""
    if item.get_closest_marker("gpu") is not None and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (torch.cuda.is_available() is False)")


def quick_overrides(*changes: str, task: str = "dna_species") -> list[str]:
    """`task=TASK` and its tiny overrides, with `changes` (key=value) replacing or adding keys."""
    overrides = dict(pair.split("=", 1) for pair in ("task=" + task, *QUICK[task]))
    for pair in changes:
        key, value = pair.split("=", 1)
        overrides[key] = value
    return [f"{key}={value}" for key, value in overrides.items()]


@pytest.fixture(scope="session")
def quick() -> Callable[..., list[str]]:
    """quick("trainer.max_steps=10", task="dna_species") -> the overrides of a tiny run: a
    16-wide one-layer model, 64-base windows, a few batches of 4 (dna_species: 3 steps, 2
    validation and test windows per class; dna_classify: fast_dev_run)."""
    return quick_overrides


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, request) -> Path:
    """The test module's own folder (a module that needs files there overrides this fixture)."""
    return tmp_path_factory.mktemp(request.module.__name__.removeprefix("test_"))


@pytest.fixture
def isolated(workdir, monkeypatch) -> Path:
    """Run the test in `workdir`, with the genome cache there too (modules use it with
    `pytestmark = pytest.mark.usefixtures("isolated")`)."""
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("SEQMODELS_CACHE", str(workdir / "cache"))
    return workdir


def fit_in(folder: Path, argv: list[str]) -> None:
    """`seqmodels fit ARGV` run in `folder`, with its genome cache there (for module- and
    session-scoped fixtures, which cannot use the function-scoped `isolated`)."""
    from seqmodels.cli import main

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("SEQMODELS_CACHE", str(folder / "cache"))
        assert main(["fit", *argv]) == 0


@pytest.fixture(scope="module")
def fit_here(workdir) -> Callable[[list[str]], None]:
    """fit_here(argv): `seqmodels fit ARGV` in the module's `workdir`."""
    return lambda argv: fit_in(workdir, argv)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """The run directory of a tiny dna_species classifier (3 steps: it has a best.ckpt), in a
    folder of its own: a test must not write into it."""
    folder = tmp_path_factory.mktemp("trained_run")
    fit_in(folder, quick_overrides())
    return (folder / "runs" / "dna_species" / "latest").resolve()


@pytest.fixture
def one_line_error(capsys) -> Callable[..., str]:
    """one_line_error(argv, *expected) -> the error line. `seqmodels ARGV` must exit with code 2
    and print one line, no traceback, starting "seqmodels: error:" and holding every part of
    `expected`."""
    from seqmodels.cli import main

    def check(argv: list[str], *expected: str) -> str:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("seqmodels: error:") and "\n" not in err, err
        assert all(part in err for part in expected), err
        return err

    return check
