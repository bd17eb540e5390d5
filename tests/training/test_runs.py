"""Run directories: one per run, and one for all the processes of a multi-process run."""

import os

import pytest

from seqmodels.errors import UserError
from seqmodels.training.runs import RUN_DIR_ENV, is_launch_rank_zero, run_directory, sharing_run_dir

LAUNCHER_VARIABLES = (
    RUN_DIR_ENV,
    "WORLD_SIZE",
    "RANK",
    "LOCAL_RANK",
    "NODE_RANK",
    "GROUP_RANK",
    "SLURM_NTASKS",
    "SLURM_PROCID",
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "TORCHELASTIC_RUN_ID",
)


@pytest.fixture(autouse=True)
def no_launcher(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_a_single_process_gets_a_new_directory_each_time(tmp_path):
    first, second = run_directory(tmp_path, "t"), run_directory(tmp_path, "t")
    assert first != second and first.parent == second.parent == tmp_path / "t"


def test_processes_started_by_lightning_share_the_first_ones_directory(tmp_path, monkeypatch):
    run = run_directory(tmp_path, "t")
    with sharing_run_dir(run):  # what the first process does around trainer.fit
        monkeypatch.setenv("LOCAL_RANK", "1")  # ... and what a process it starts sees
        monkeypatch.setenv("WORLD_SIZE", "2")
        assert run_directory(tmp_path, "t") == run.resolve()
        assert not is_launch_rank_zero()
    assert RUN_DIR_ENV not in os.environ


@pytest.mark.parametrize(
    "env, name",
    [
        ({"SLURM_NTASKS": "8", "SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0"}, "slurm-4242.0"),
        ({"WORLD_SIZE": "8", "TORCHELASTIC_RUN_ID": "species1"}, "torchrun-species1"),
    ],
    ids=["slurm", "torchrun"],
)
def test_externally_launched_processes_name_it_after_the_job(tmp_path, monkeypatch, env, name):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert run_directory(tmp_path, "t") == run_directory(tmp_path, "t") == tmp_path / "t" / name


@pytest.mark.parametrize("env", [{"TORCHELASTIC_RUN_ID": "none"}, {"RANK": "0"}])
def test_several_processes_without_a_job_name_is_a_user_error(tmp_path, monkeypatch, env):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(UserError, match="SEQMODELS_RUN_DIR"):
        run_directory(tmp_path, "t")


def test_what_lightnings_launcher_leaves_behind_is_not_a_job(tmp_path, monkeypatch):
    for key, value in {"WORLD_SIZE": "2", "LOCAL_RANK": "0", "NODE_RANK": "0"}.items():
        monkeypatch.setenv(key, value)  # the first process, after a DDP fit in a notebook
    assert run_directory(tmp_path, "t") != run_directory(tmp_path, "t")


@pytest.mark.parametrize(
    "env, zero",
    [({}, True), ({"RANK": "0"}, True), ({"RANK": "3"}, False), ({"SLURM_PROCID": "1"}, False)],
)
def test_launch_rank_zero(monkeypatch, env, zero):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert is_launch_rank_zero() is zero
