"""Hybrid and transformer models through the command line: fit (fast_dev_run) on dna_species and
audio_lm, predict whole records, export, generate, init_from an SSM run, one-line errors."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from seqmodels.cli import main

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"
QUICK = [
    "task=dna_species",
    "trainer.fast_dev_run=true",
    "data.seq_len=64",
    "data.train_seq_len=32",
    "data.batch_size=4",
    "data.val_windows_per_class=2",
    "data.test_windows_per_class=2",
    "model.d_model=16",
    "model.n_layer=2",
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("attention_cli")


@pytest.fixture(autouse=True)
def isolated(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("SEQMODELS_CACHE", str(workdir / "cache"))


def fit(workdir: Path, name: str, *args: str) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        mp.setenv("SEQMODELS_CACHE", str(workdir / "cache"))
        assert main(["fit", f"run_root={name}", *args]) == 0
    return next((workdir / name).glob("*/latest")).resolve()


@pytest.fixture(scope="module")
def ssm_run(workdir) -> Path:
    return fit(workdir, "ssm", *QUICK)


@pytest.fixture(scope="module")
def hybrid_run(workdir, ssm_run) -> Path:
    return fit(workdir, "hybrid", *QUICK, "model.variant=hybrid", f"init_from={ssm_run}")


def one_line_error(capsys, argv: list[str], expected: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqmodels: error:") and "\n" not in err, err
    assert expected in err, err


def test_a_hybrid_started_from_an_ssm_run_predicts_whole_records(hybrid_run, capsys):
    import json

    model = json.loads((hybrid_run / "model" / "config.json").read_text())["model"]
    assert model["variant"] == "hybrid" and model["attn_window"] == 32  # auto: data.train_seq_len
    args = ["predict", str(TINY), f"ckpt={hybrid_run}"]
    assert main([*args, "out=whole", "window=record", "segment=7"]) == 0
    assert (Path("whole") / "tiny.records.tsv").is_file()


def test_fit_prints_which_blocks_are_new(workdir, ssm_run, capsys):
    fit(workdir, "hybrid_again", *QUICK, "model.variant=hybrid", f"init_from={ssm_run}")
    assert "attention blocks 1 are new" in capsys.readouterr().out


def test_a_transformer_fits_dna_species_and_its_export_predicts(workdir):
    steps = ["trainer.fast_dev_run=false", "trainer.max_steps=2", "data.train_samples_per_epoch=8"]
    run = fit(workdir, "transformer", *QUICK, "model.variant=transformer", *steps)
    assert main(["export", f"ckpt={run / 'checkpoints' / 'best.ckpt'}", "out=exported"]) == 0
    args = ["predict", str(TINY), "ckpt=exported", "window=record", "segment=9"]
    assert main([*args, "out=from_export"]) == 0
    assert (Path("from_export") / "tiny.records.tsv").is_file()


@pytest.mark.parametrize("variant", ["hybrid", "transformer"])
def test_audio_lm_fits_and_generates(workdir, tmp_path, variant):
    clips = tmp_path / "clips"
    rng = np.random.default_rng(0)
    for i in range(6):
        clips.mkdir(exist_ok=True)
        sf.write(clips / f"{i}.wav", (0.3 * rng.normal(size=800)).astype(np.float32), 16000)
    args = ["task=audio_lm", f"data.root={clips}", "data.seq_len=64", "data.batch_size=2",
            "data.val_windows=2", "data.test_windows=2", "trainer.fast_dev_run=true",
            "model.d_model=16", "model.n_layer=2", f"model.variant={variant}"]  # fmt: skip
    run = fit(workdir, f"audio_{variant}", *args)
    assert main(["generate", f"ckpt={run}", "n=1", "seconds=0.01", f"out=gen_{variant}"]) == 0
    assert sf.info(workdir / f"gen_{variant}" / "sample_000.wav").frames == 160


@pytest.mark.parametrize(
    "args, expected",
    [
        (["model.variant=hybrid", "model.attn_layers=[5]"], "block 5 is outside the depth"),
        (["model.variant=hybrid", "model.attn_window=0"], "model.attn_window=0: expected a pos"),
        (["model.variant=hybrid", "model.attn_window=wide"], "model.attn_window='wide'"),
        (["model.variant=bidirectional", "model.attn_every=2"], "bidirectional hybrid is not"),
    ],
    ids=["layer-outside-depth", "window-zero", "window-not-a-number", "bidirectional-hybrid"],
)
def test_bad_attention_settings_are_one_line_errors(workdir, capsys, args, expected):
    one_line_error(capsys, ["fit", "run_root=bad", *QUICK, *args], expected)
    assert not (workdir / "bad").exists()


def test_init_from_a_model_whose_blocks_do_not_map(workdir, hybrid_run, capsys):
    one_line_error(
        capsys, ["fit", "run_root=bad_init", *QUICK, f"init_from={hybrid_run}"], "do not map"
    )
    assert not (workdir / "bad_init").exists()
