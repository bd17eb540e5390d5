"""Crashes and resuming: a fit killed by SIGKILL (between checkpoints, or half-way through writing
one) and resumed with `fit resume=RUN` ends exactly where the uninterrupted run of the same seed
ends (metrics.csv, best and last weights), and the same seed gives the same run twice."""

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from seqmodels.cli import main

DRIVER = Path(__file__).with_name("sigkill_fit.py")
# two small random genomes (written by `workdir`), 3 training batches per epoch, last.ckpt about
# every 2 steps (mid-epoch), 10 steps in all
RUN = (
    "data.genomes={a: a.fa, b: b.fa}",
    "data.train_samples_per_epoch=12",
    "trainer.max_steps=10",
    "trainer.log_every_n_steps=1",
    "checkpoint.every_n_steps=2",
)
pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture(scope="module")
def workdir(workdir) -> Path:
    rng = random.Random(0)
    for name in ("a", "b"):  # 4 kb each: parsed in no time, long enough for 64-base windows
        bases = "".join(rng.choices("ACGT", k=4000))
        (workdir / f"{name}.fa").write_text(f">{name}\n{bases}\n")
    return workdir


@pytest.fixture(scope="module")
def overrides(quick) -> list[str]:
    return quick(*RUN)


def the_run(root: Path, task: str = "dna_species") -> Path:
    (run,) = [p for p in (root / task).iterdir() if p.name != "latest"]
    return run


@pytest.fixture(scope="module")
def reference(workdir, fit_here, overrides) -> Path:
    """The uninterrupted run."""
    fit_here([*overrides, "run_root=uninterrupted"])
    return the_run(workdir / "uninterrupted")


def killed_fit(workdir: Path, root: str, args: list[str], **kill: int) -> Path:
    """Run fit in a subprocess that SIGKILLs itself as `kill` says; return its run directory."""
    env = {**os.environ, **{key.upper(): str(value) for key, value in kill.items()}}
    result = subprocess.run(
        [sys.executable, str(DRIVER), "fit", *args, f"run_root={root}"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    run = the_run(workdir / root, args[0].removeprefix("task="))
    assert not (run / "model").exists()  # it did not finish
    return run


def checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_run(run: Path, reference: Path) -> None:
    assert (run / "metrics.csv").read_text() == (reference / "metrics.csv").read_text()
    got, want = (
        load_file(run / "model" / "model.safetensors"),
        load_file(reference / "model" / "model.safetensors"),
    )
    assert got.keys() == want.keys()
    for key in want:
        assert torch.equal(got[key], want[key]), key
    last, last_ref = (
        checkpoint(run / "checkpoints/last.ckpt"),
        checkpoint(reference / "checkpoints/last.ckpt"),
    )
    assert last["global_step"] == last_ref["global_step"] == 10
    for key, value in last_ref["state_dict"].items():
        if key.startswith("model."):
            assert torch.equal(last["state_dict"][key], value), key
    for name in ("optimizer_states", "lr_schedulers"):
        assert str(last[name]) == str(last_ref[name]), name


@pytest.mark.slow  # a fit in a subprocess, killed and resumed: .ci/run runs it
def test_sigkill_mid_epoch_then_resume_ends_like_the_uninterrupted_run(
    workdir, overrides, reference
):
    run = killed_fit(workdir, "killed", overrides, kill_at_step=5)
    saved = checkpoint(run / "checkpoints/last.ckpt")
    assert (saved["global_step"], saved["epoch"]) == (4, 1)  # one batch into the second epoch
    assert main(["fit", f"resume={run}"]) == 0
    assert_same_run(run, reference)
    assert (workdir / "killed" / "dna_species" / "latest").resolve() == run


@pytest.mark.slow  # a fit in a subprocess, killed and resumed: .ci/run runs it
def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one(workdir, overrides, reference):
    run = killed_fit(
        workdir, "killed_in_save", overrides, kill_in_save=2
    )  # writing step 4's last.ckpt
    (half,) = (run / "checkpoints").glob(".last.ckpt.tmp-*")  # the write was cut off...
    with pytest.raises(Exception):  # noqa: B017 - whatever torch makes of half a file
        checkpoint(half)
    assert checkpoint(run / "checkpoints/last.ckpt")["global_step"] == 2  # ...the old one stands
    assert main(["fit", f"resume={run}"]) == 0
    assert not list((run / "checkpoints").glob(".*.tmp-*"))  # the leftover is cleaned up
    assert_same_run(run, reference)


def test_the_same_seed_gives_the_same_run_twice(workdir, overrides, reference):
    assert main(["fit", *overrides, "run_root=again"]) == 0
    assert_same_run(the_run(workdir / "again"), reference)


def test_resume_applies_overrides_and_continues_from_the_last_step(workdir, reference, capsys):
    run = workdir / "extended"
    shutil.copytree(reference, run)
    assert main(["fit", f"resume={run}", "trainer.max_steps=12"]) == 0
    assert "resuming at step 10" in " ".join(capsys.readouterr().out.split())
    assert checkpoint(run / "checkpoints/last.ckpt")["global_step"] == 12
    config = OmegaConf.load(run / "config.yaml")
    assert config.trainer.max_steps == 12 and config.resume is None
    steps = [line.split(",")[1] for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(steps, key=int)  # appended after the rows of the first 10 steps


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["model.d_model=32"], "keeps its model"),
        (["task=audio_lm"], "keeps its task"),
        (["seed=3"], "keeps its seed"),
        (["data.seq_len_typo=3"], "valid keys at data: batch_size"),
        (["trainer.max_steps=many"], "expected a whole number"),
        (["nonfinite_loss=ignore"], "choose one of stop, skip"),
    ],
    ids=["model", "task", "seed", "unknown-key", "bad-type", "bad-choice"],
)
def test_resume_refuses_overrides_that_make_another_run(one_line_error, reference, extra, expected):
    one_line_error(["fit", f"resume={reference}", *extra], expected)


def test_resume_needs_a_run_with_a_checkpoint(one_line_error, workdir, reference):
    one_line_error(["fit", f"resume={workdir / 'nope'}"], "no such run directory")
    one_line_error(["fit", f"resume={workdir / 'cache'}"], "not a run directory")
    empty = workdir / "no_checkpoint"
    empty.mkdir()
    shutil.copy(reference / "config.yaml", empty / "config.yaml")
    one_line_error(["fit", f"resume={empty}"], "no checkpoints/last.ckpt to resume from")


def backbone_of(run: Path) -> dict[str, torch.Tensor]:
    """The backbone's weights in a run's last.ckpt."""
    state = checkpoint(run / "checkpoints/last.ckpt")["state_dict"]
    return {key: value for key, value in state.items() if key.startswith("model.backbone.")}


@pytest.mark.parametrize(
    "finetune", ["finetune.freeze_backbone=true", "finetune.backbone_lr_scale=0.1"]
)
def test_a_fine_tuned_run_resumes_with_its_fine_tuning_options(
    workdir, fit_here, overrides, reference, finetune
):
    """The options live in config.yaml, not in the weights: resuming applies them again, so the
    optimiser has the parameter groups its saved state has (a frozen backbone is not in them)."""
    root = finetune.split(".")[1].split("=")[0]
    fit_here([*overrides, f"init_from={reference}", finetune, f"run_root={root}"])
    run = the_run(workdir / root)
    start = backbone_of(run)
    assert main(["fit", f"resume={run}", "trainer.max_steps=12"]) == 0
    last = checkpoint(run / "checkpoints/last.ckpt")
    assert last["global_step"] == 12
    scales = {group["lr_scale"] for group in last["optimizer_states"][0]["param_groups"]}
    assert scales == ({1.0} if "freeze" in finetune else {1.0, 0.1})
    if "freeze" in finetune:  # still the source's backbone, after 12 steps
        source = load_file(reference / "model" / "model.safetensors")
        for key, value in backbone_of(run).items():
            assert torch.equal(value, start[key]), key
            assert torch.equal(value, source[key.removeprefix("model.")]), key


PRETRAIN = [
    "task=dna_pretrain",
    "data.fasta=[a.fa, b.fa]",
    "data.seq_len=64",
    "data.batch_size=4",
    "data.train_batches_per_epoch=3",
    "data.val_windows_per_file=1",
    "data.test_windows_per_file=1",
    "warmup.min_len=16",  # 16, 32, 64 bases: the shape changes every epoch
    "model.d_model=16",
    "model.n_layer=1",
    "trainer.max_steps=10",
    "trainer.log_every_n_steps=1",
    "checkpoint.every_n_steps=2",
]


@pytest.mark.slow  # a fit in a subprocess, killed and resumed: .ci/run runs it
def test_pretraining_with_length_warmup_resumes_exactly(workdir):
    assert main(["fit", *PRETRAIN, "run_root=pretrain"]) == 0
    reference = the_run(workdir / "pretrain", "dna_pretrain")
    # killed writing step 7's last.ckpt: step 4's stands, one batch into the second stage
    run = killed_fit(workdir, "pretrain_killed", PRETRAIN, kill_in_save=3)
    assert checkpoint(run / "checkpoints/last.ckpt")["global_step"] == 4
    assert main(["fit", f"resume={run}"]) == 0
    assert (run / "metrics.csv").read_text() == (reference / "metrics.csv").read_text()
    last, last_ref = (
        checkpoint(run / "checkpoints/last.ckpt"),
        checkpoint(reference / "checkpoints/last.ckpt"),
    )
    for key, value in last_ref["state_dict"].items():
        if key.startswith("model."):
            assert torch.equal(last["state_dict"][key], value), key


def test_metrics_csv_keeps_the_rows_before_the_checkpoint_and_drops_a_cut_row(tmp_path):
    from seqmodels.training.resume import RunLogger

    rows = [f"0,{step},{step / 10}" for step in range(6)]
    (tmp_path / "metrics.csv").write_text("epoch,step,train/loss\n" + "\n".join(rows) + "\n0,6,0.")
    logger = RunLogger(tmp_path, keep_until_step=7)  # the cut row (step 6) goes too
    logger.log_metrics({"train/loss": 0.7}, step=7)
    logger.save()
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines == ["epoch,step,train/loss", *rows, ",7,0.7"]
    assert RunLogger(tmp_path, keep_until_step=3).experiment  # at step 3: rows 0-2 stay
    assert (tmp_path / "metrics.csv").read_text().splitlines() == lines[:4]
