"""Atomic writes survive a kill at any moment; a checkpoint planted to run code when unpickled is
refused by every command that loads weights, and its code never runs."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import seqmodels
from seqmodels.cli import compose_config, main
from seqmodels.errors import UserError
from seqmodels.io.atomic import atomic_write, read_checkpoint, remove_stale_temporaries
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig, SequenceClassifier
from seqmodels.models.pretrained import load_pretrained, save_pretrained

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_kill_half_way_through_a_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "state.bin"
    target.write_bytes(b"old and complete")
    result = run_python(
        """
        import os, signal
        from pathlib import Path
        from seqmodels.io.atomic import atomic_write

        def write(tmp):
            with open(tmp, "wb") as out:
                out.write(b"new but ha")
                out.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        atomic_write(Path("state.bin"), write)
        """,
        tmp_path,
    )
    assert result.returncode == -9, result.stderr
    assert target.read_bytes() == b"old and complete"
    (leftover,) = remove_stale_temporaries(tmp_path)
    assert leftover.name.startswith(".state.bin.tmp-") and not leftover.exists()


def test_an_error_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "state.bin"
    target.write_bytes(b"old")

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, write)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["state.bin"]
    atomic_write(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["state.bin"]


def classifier_info() -> dict:
    config = ModelConfig(d_model=16, n_layer=1, d_state=4, vocab_size=8)
    return {"kind": "classifier", "model": config.to_dict(), "class_names": ["a", "b"]}


def test_an_export_killed_half_way_leaves_the_previous_model(tmp_path):
    info = classifier_info()
    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig.from_dict(info["model"]), 2)
    save_pretrained(tmp_path / "model", model, ModelCard.from_dict(info))
    result = run_python(
        """
        import os, signal
        import torch
        from seqmodels.models import ModelConfig, SequenceClassifier
        from seqmodels.models import pretrained as export

        def save_model(model, path):  # the weights file is cut off half-way
            with open(path, "wb") as out:
                out.write(b"\\x00" * 100)
                out.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        export.save_model = save_model
        card = export.load_pretrained("model")[1]
        torch.manual_seed(1)
        model = SequenceClassifier(ModelConfig.from_dict(card.model), 2)
        export.save_pretrained("model", model, card)
        """,
        tmp_path,
    )
    assert result.returncode == -9, result.stderr
    loaded, _ = load_pretrained(tmp_path / "model")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


class Planted:
    """Unpickling this runs code: it writes the file `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('the code ran')",)


@pytest.fixture(params=["zip-format", "legacy-format"])
def planted(request, tmp_path) -> tuple[Path, Path]:
    """A checkpoint that looks like ours (state_dict, hyper_parameters with info) and runs code
    when unpickled; and the file that code would write."""
    marker = tmp_path / "pwned"
    contents = {
        "state_dict": {"model.head.weight": torch.zeros(2, 16)},
        "hyper_parameters": {"info": classifier_info(), "payload": Planted(marker)},
        "global_step": 3,
    }
    path = tmp_path / "planted.ckpt"
    torch.save(contents, path, _use_new_zipfile_serialization=request.param == "zip-format")
    return path, marker


def test_the_planted_checkpoint_does_run_code_when_unpickled_unsafely(planted):
    path, marker = planted  # the control: without weights_only the payload runs
    torch.load(path, weights_only=False)
    assert marker.read_text() == "the code ran"


def test_read_checkpoint_refuses_it(planted):
    path, marker = planted
    with pytest.raises(UserError, match="refused to load"):
        read_checkpoint(path)
    with pytest.raises(UserError, match="refused to load"):
        seqmodels.load(path)
    assert not marker.exists()


def planted_run(path: Path, tmp_path: Path) -> Path:
    """A run directory whose last.ckpt is the planted one (for resume=)."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    OmegaConf.save(compose_config(["task=dna_species"]), run / "config.yaml")
    (run / "checkpoints" / "last.ckpt").write_bytes(path.read_bytes())
    return run


@pytest.mark.parametrize(
    "command",
    ["predict", "test", "validate", "generate", "export", "init_from", "resume"],
)
def test_every_command_refuses_it_in_one_line(planted, tmp_path, monkeypatch, capsys, command):
    path, marker = planted
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))
    small = ["data.seq_len=64", "model.d_model=16", "model.n_layer=1"]
    argv = {
        "predict": ["predict", str(TINY), f"ckpt={path}"],
        "test": ["test", f"ckpt={path}"],
        "validate": ["validate", f"ckpt={path}"],
        "generate": ["generate", f"ckpt={path}"],
        "export": ["export", f"ckpt={path}", f"out={tmp_path / 'out'}"],
        "init_from": ["fit", f"init_from={path}", "trainer.fast_dev_run=true", *small],
        "resume": ["fit", f"resume={planted_run(path, tmp_path)}"],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "refused to load" in err and "\n" not in err, err
    assert not marker.exists()
