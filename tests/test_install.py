"""Installed, not only checked out: build the wheel, install it into a fresh virtual environment
and train from another working directory with the console script.

The new environment borrows this one's dependencies (torch & co.) through a .pth file instead of
downloading them again, but not seqmodels itself: the wheel must bring its code, its Hydra
configs and the bundled genomes. Slow (a build, an install, a fit); CI runs it on its own.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
TINY = Path(__file__).parent / "fixtures" / "tiny.fa"


def run(argv: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{argv}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_wheel_installs_and_trains_from_another_directory(tmp_path):
    # 1. the wheel, built from a copy of the sources (the checkout stays clean), offline
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "seqmodels",
        source / "seqmodels",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    dist = tmp_path / "dist"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", dist, source],
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = dist.glob("seqmodels-*.whl")

    # 2. a fresh environment; dependencies from this one, seqmodels only from the wheel
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
        ).stdout.strip()
    )
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         wheel],
        cwd=tmp_path,
    )  # fmt: skip

    # 3. the console script, from elsewhere
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "SEQMODELS_RUN_DIR")
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        SEQMODELS_CACHE=str(tmp_path / "cache"),
    )
    where = run([python, "-c", "import seqmodels; print(seqmodels.__file__)"], elsewhere, env)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout  # not the checkout
    seqmodels = venv / "bin" / "seqmodels"
    run([seqmodels, "fit", "task=dna_species", "trainer.fast_dev_run=true"], elsewhere, env)
    model = elsewhere / "runs" / "dna_species" / "latest" / "model"
    assert (model / "config.json").is_file() and (model / "model.safetensors").is_file()
    run([seqmodels, "predict", TINY, "out=predictions"], elsewhere, env)
    assert (elsewhere / "predictions" / "tiny.records.tsv").is_file()
