"""The audio commands end to end on tiny recordings: fit both audio tasks (fast_dev_run), predict
audio files, generate from the latest run, and one-line errors for bad audio input."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from seqmodels.cli import main

TINY_MODEL = ["model.d_model=16", "model.n_layer=1"]


def write_clip(path: Path, seconds: float, rate: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(seconds * rate)) / rate
    freq = 300 + 100 * seed
    audio = 0.4 * np.sin(2 * np.pi * freq * t) + 0.05 * np.random.default_rng(seed).normal(
        size=t.shape
    )
    sf.write(path, audio.astype(np.float32), rate)


@pytest.fixture(scope="module")
def workdir(workdir) -> Path:
    """An SC09-style folder (8 kHz FLAC, two labels, list files) and room for runs."""
    root = workdir
    clips = root / "clips"
    for label in ("down", "up"):
        for i in range(6):
            write_clip(clips / label / f"s{i}_nohash_0.flac", 0.05, 8000, seed=i)
    (clips / "validation_list.txt").write_text("down/s4_nohash_0.flac\nup/s4_nohash_0.flac\n")
    (clips / "testing_list.txt").write_text("down/s5_nohash_0.flac\nup/s5_nohash_0.flac\n")
    return root


pytestmark = pytest.mark.usefixtures("isolated")


def classify_args(root: Path) -> list[str]:
    return [
        "fit",
        "task=audio_classify",
        f"data.root={root}",
        "data.clip_seconds=0.02",
        "data.batch_size=4",
        "trainer.fast_dev_run=true",
        *TINY_MODEL,
    ]


def lm_args(root: Path) -> list[str]:
    return [
        "fit",
        "task=audio_lm",
        f"data.root={root}",
        "data.seq_len=64",
        "data.batch_size=2",
        "data.val_windows=2",
        "data.test_windows=2",
        "trainer.fast_dev_run=true",
        *TINY_MODEL,
    ]


@pytest.fixture(scope="module")
def classifier_run(workdir, fit_here) -> Path:
    fit_here(classify_args(workdir / "clips")[1:])
    return (workdir / "runs" / "audio_classify" / "latest").resolve()


@pytest.fixture(scope="module")
def lm_run(workdir, fit_here) -> Path:
    fit_here(lm_args(workdir / "clips")[1:])
    return (workdir / "runs" / "audio_lm" / "latest").resolve()


def test_audio_classify_fast_dev_run_writes_a_complete_run(classifier_run):
    for name in ("config.yaml", "model/config.json", "model/model.safetensors"):
        assert (classifier_run / name).is_file(), name
    assert (classifier_run / "plots" / "confusion_matrix_test.png").is_file()


def test_audio_lm_reports_bits_per_sample_beside_the_baselines(lm_run, workdir, capsys):
    assert (lm_run / "model" / "model.safetensors").is_file()
    assert main(["test", f"ckpt={lm_run}", *lm_args(workdir / "clips")[1:]]) == 0
    out = capsys.readouterr().out
    for key in ("test/bits_per_sample", "test/baseline_unigram_bits", "test/baseline_lpc_bits"):
        assert key in out, key


def test_predict_audio_files_writes_a_table(classifier_run, workdir, capsys):
    files = [
        workdir / "clips" / "up" / "s0_nohash_0.flac",
        workdir / "clips" / "down" / "s1_nohash_0.flac",
    ]
    long = workdir / "long.wav"
    write_clip(long, 0.07, 16000, seed=3)  # three and a half clips of 0.02 s
    assert main(["predict", *map(str, files), str(long), "out=preds"]) == 0
    rows = [
        line.split("\t")
        for line in (workdir / "preds" / "audio_predictions.tsv").read_text().splitlines()
    ]
    assert rows[0] == ["file", "seconds", "clips", "predicted", "p_down", "p_up"]
    assert [row[0] for row in rows[1:]] == [*map(str, files), str(long)]
    assert [row[2] for row in rows[1:]] == ["3", "3", "4"]
    assert all(row[3] in ("down", "up") for row in rows[1:])
    assert all(abs(float(row[4]) + float(row[5]) - 1) < 1e-5 for row in rows[1:])


def test_predict_bad_audio_is_one_line_and_writes_nothing(
    classifier_run, workdir, tmp_path, one_line_error
):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    good = workdir / "clips" / "up" / "s0_nohash_0.flac"
    one_line_error(["predict", str(good), str(bad), f"out={tmp_path / 'out'}"], str(bad))
    assert not (tmp_path / "out").exists()


def test_predict_audio_needs_an_audio_classifier(lm_run, workdir, one_line_error):
    clip = workdir / "clips" / "up" / "s0_nohash_0.flac"
    one_line_error(["predict", str(clip), f"ckpt={lm_run}"], "not an audio classifier")


def test_generate_from_the_latest_audio_lm(lm_run, workdir):
    assert main(["generate", "n=2", "seconds=0.01", "out=gen"]) == 0
    for name in ("sample_000", "sample_001"):
        assert sf.info(workdir / "gen" / f"{name}.wav").frames == 160  # 0.01 s at 16 kHz
        assert (workdir / "gen" / f"{name}.png").is_file()


def test_one_bad_file_among_many_warns_and_the_run_goes_on(workdir, tmp_path, capsys):
    clips = tmp_path / "clips"
    for i in range(6):
        write_clip(clips / f"{i}.wav", 0.05, 8000, seed=i)
    (clips / "5.wav").write_bytes((clips / "5.wav").read_bytes()[:30])  # truncated header
    assert main(lm_args(clips)) == 0
    err = capsys.readouterr().err
    assert "seqmodels: warning: skipping 1 unreadable audio file(s)" in err and "5.wav" in err


@pytest.mark.parametrize(
    "case, expected",
    [
        ("no-audio", "no audio files in this folder"),
        ("empty-label", "label folder 'silence' has no audio files"),
        ("rate-0", "data.sample_rate=0"),
        ("missing-root", "no such folder"),
    ],
)
def test_bad_audio_data_is_one_line(workdir, tmp_path, one_line_error, case, expected):
    root = tmp_path / "data"
    root.mkdir()
    (root / "readme.txt").write_text("no recordings here")
    task, extra = "audio_lm", []
    if case == "empty-label":
        task = "audio_classify"
        for label in ("yes", "no"):
            write_clip(root / label / "a.wav", 0.05, 8000, seed=0)
        (root / "silence").mkdir()
    elif case == "rate-0":
        write_clip(root / "a.wav", 0.05, 8000, seed=0)
        extra = ["data.sample_rate=0"]
    elif case == "missing-root":
        root = tmp_path / "nowhere"
    runs = workdir / "runs" / task
    before = sorted(runs.iterdir()) if runs.exists() else []
    one_line_error(["fit", f"task={task}", f"data.root={root}", *extra], expected)
    assert (sorted(runs.iterdir()) if runs.exists() else []) == before  # no run started
