"""Audio folders and datasets: splits by file (SC09 lists or seeded), label folders, windows and
clips, and the two audio datamodules."""

import numpy as np
import pytest
import soundfile as sf
import torch

from seqmodels.data.audio.classify import AudioClassifyDataModule
from seqmodels.data.audio.datasets import ClipDataset, RandomCropDataset, fit_clip, tile_windows
from seqmodels.data.audio.folders import BUNDLED_DIGITS, label_folders, seeded_split, split_files
from seqmodels.data.audio.io import audio_info, read_audio
from seqmodels.data.audio.lm import AudioLMDataModule
from seqmodels.data.audio.mulaw import SILENCE, mu_law_decode, mu_law_encode
from seqmodels.errors import UserError


def write_clip(path, seconds: float, rate: int = 8000, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(seed).standard_normal(round(seconds * rate)) * 0.2
    sf.write(path, noise.clip(-1, 1).astype(np.float32), rate)


def sc09_folder(root, labels=("no", "yes"), per_label=5, lists=True):
    """root/<label>/<speaker>_nohash_0.wav at 8 kHz; speaker s3 validates and s4 tests."""
    for label in labels:
        for i in range(per_label):
            write_clip(root / label / f"s{i}_nohash_0.wav", 0.05 + 0.01 * i, seed=i)
    if lists:
        (root / "validation_list.txt").write_text("".join(f"{x}/s3_nohash_0.wav\n" for x in labels))
        (root / "testing_list.txt").write_text("".join(f"{x}/s4_nohash_0.wav\n" for x in labels))
    return root


def test_list_files_are_honoured(tmp_path):
    root = sc09_folder(tmp_path)
    files = sorted(root.rglob("*.wav"))
    parts = split_files(root, files, (0.8, 0.1, 0.1), seed=0)
    names = {
        split: sorted(p.relative_to(root).as_posix() for p in ps) for split, ps in parts.items()
    }
    assert names["val"] == ["no/s3_nohash_0.wav", "yes/s3_nohash_0.wav"]
    assert names["test"] == ["no/s4_nohash_0.wav", "yes/s4_nohash_0.wav"]
    assert len(names["train"]) == 6 and not set(names["train"]) & set(names["val"] + names["test"])


def test_seeded_split_is_by_file_disjoint_and_repeatable(tmp_path):
    files = [tmp_path / f"{i}.wav" for i in range(20)]
    parts = seeded_split(files, (0.8, 0.1, 0.1), seed=3)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [16, 2, 2]
    assert sorted(sum(parts.values(), [])) == sorted(files)
    assert parts == seeded_split(files, (0.8, 0.1, 0.1), seed=3)
    assert parts != seeded_split(files, (0.8, 0.1, 0.1), seed=4)
    small = seeded_split(files[:3], (0.8, 0.1, 0.1), seed=0)  # every split gets a file
    assert [len(small[s]) for s in ("train", "val", "test")] == [1, 1, 1]


def test_label_folders(tmp_path):
    root = sc09_folder(tmp_path, labels=("b", "a"), per_label=2, lists=False)
    (root / "_background_noise_").mkdir()
    write_clip(root / "_background_noise_" / "hum.wav", 0.1)
    labels = label_folders(root)
    assert list(labels) == ["a", "b"] and all(len(files) == 2 for files in labels.values())


def test_empty_label_folder_is_one_line(tmp_path):
    root = sc09_folder(tmp_path, per_label=2, lists=False)
    (root / "maybe").mkdir()
    (root / "maybe" / "notes.txt").write_text("todo")
    with pytest.raises(UserError, match="label folder 'maybe' has no audio files") as error:
        label_folders(root)
    assert "\n" not in str(error.value)


def test_a_single_label_is_refused(tmp_path):
    write_clip(tmp_path / "only" / "a.wav", 0.1)
    with pytest.raises(UserError, match="one folder per label"):
        label_folders(tmp_path)


def test_random_crops_are_repeatable_per_index_and_epoch(tmp_path):
    for i in range(3):
        write_clip(tmp_path / f"{i}.wav", 0.1 * (i + 1), rate=16000, seed=i)
    infos = [audio_info(p) for p in sorted(tmp_path.glob("*.wav"))]
    data = RandomCropDataset(infos, 16000, 100, samples_per_epoch=8, seed=0)
    first = [data[i]["tokens"] for i in range(8)]
    assert all(t.shape == (100,) and t.dtype == torch.int64 for t in first)
    assert all(torch.equal(a, data[i]["tokens"]) for i, a in enumerate(first))
    data.set_epoch(1)
    assert not all(torch.equal(a, data[i]["tokens"]) for i, a in enumerate(first))


def test_fixed_windows_tile_files_and_are_capped(tmp_path):
    write_clip(tmp_path / "a.wav", 0.1, rate=16000)  # 1600 frames: 3 windows of 500
    infos = [audio_info(tmp_path / "a.wav")]
    assert [start for _, start in tile_windows(infos, 16000, 500, 10, seed=0)] == [0, 500, 1000]
    assert len(tile_windows(infos, 16000, 500, 2, seed=0)) == 2


def test_clips_are_cropped_or_padded_with_silence(tmp_path):
    write_clip(tmp_path / "short.wav", 0.01, rate=16000)  # 160 frames
    write_clip(tmp_path / "long.wav", 0.1, rate=16000)  # 1600 frames
    short, long = audio_info(tmp_path / "short.wav"), audio_info(tmp_path / "long.wav")
    clips = ClipDataset([short, long], [0, 1], 16000, 400, random=False, seed=0)
    padded, cropped = clips[0], clips[1]
    assert torch.equal(padded["tokens"][:160], mu_law_encode(read_audio(short, 16000)))
    assert torch.all(padded["tokens"][160:] == SILENCE) and padded["label"] == 0
    middle = mu_law_encode(read_audio(long, 16000, 600, 400))
    assert torch.equal(cropped["tokens"], middle) and cropped["label"] == 1
    training = ClipDataset([short, long], [0, 1], 16000, 400, random=True, seed=0)
    assert sorted(int(training[i]["label"]) for i in range(2)) == [0, 1]
    assert all(training[i]["tokens"].shape == (400,) for i in range(2))


def test_speed_and_gain_augment_only_training_clips(tmp_path):
    rate = 8000
    tone = 0.25 * np.sin(2 * np.pi * 200 * np.arange(800) / rate)  # 0.1 s, 200 Hz
    sf.write(tmp_path / "tone.wav", tone.astype(np.float32), rate)
    info = audio_info(tmp_path / "tone.wav")
    plain = fit_clip(info, rate, 1600, None)
    assert torch.equal(plain, fit_clip(info, rate, 1600, None, speed=0.2, gain_db=6))  # no rng
    voiced = []
    for seed in range(20):
        clip = fit_clip(info, rate, 1600, np.random.default_rng(seed), speed=0.2, gain_db=6)
        audio = mu_law_decode(clip[clip != SILENCE])
        voiced.append(len(audio))
        assert 0.25 * 10 ** (-6 / 20) * 0.95 < audio.abs().max() < 0.25 * 10 ** (6 / 20) * 1.05
    # 800 frames played at 0.8x to 1.2x speed last 667 to 1000 frames, and vary with the seed
    assert 660 <= min(voiced) < max(voiced) <= 1001 and len(set(voiced)) > 5
    crop = fit_clip(info, rate, 400, np.random.default_rng(0), speed=0.2)
    assert crop.shape == (400,) and torch.all(crop != SILENCE)
    dm = AudioClassifyDataModule(sc09_folder(tmp_path / "d"), speed_perturb=0.1, gain_db=3)
    dm.setup(None)
    assert (dm.train_dataset.speed, dm.train_dataset.gain_db) == (0.1, 3.0)
    assert (dm.test_dataset.speed, dm.test_dataset.gain_db) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("option", "value"), [("speed_perturb", 1.0), ("speed_perturb", -0.1), ("gain_db", -3)]
)
def test_bad_augmentation_is_a_clear_error(tmp_path, option, value):
    with pytest.raises(UserError, match=f"data.{option}="):
        AudioClassifyDataModule(sc09_folder(tmp_path), **{option: value})


def test_classify_datamodule_uses_the_lists_and_resamples(tmp_path):
    dm = AudioClassifyDataModule(sc09_folder(tmp_path), clip_seconds=0.02, batch_size=4)
    assert dm.class_names == ["no", "yes"]
    assert dm.counts() == {"train": [3, 3], "val": [1, 1], "test": [1, 1]}
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["tokens"].shape == (4, 320) and batch["label"].shape == (4,)


def test_classify_datamodule_without_lists_splits_every_label(tmp_path):
    dm = AudioClassifyDataModule(sc09_folder(tmp_path, per_label=10, lists=False), seed=1)
    assert dm.counts() == {"train": [8, 8], "val": [1, 1], "test": [1, 1]}


def test_lm_datamodule_windows(tmp_path):
    for i in range(10):
        write_clip(tmp_path / f"{i}.flac", 0.1, rate=8000, seed=i)  # 1600 frames at 16 kHz
    dm = AudioLMDataModule(tmp_path, seq_len=512, batch_size=2, val_windows=2, test_windows=5)
    dm.setup(None)
    assert [len(dm.files[s]) for s in ("train", "val", "test")] == [8, 1, 1]
    assert len(dm.val_dataset) == 2 and len(dm.test_dataset) == 3
    assert next(iter(dm.train_dataloader()))["tokens"].shape == (2, 512)


def test_the_bundled_digits_are_in_the_sc09_layout():
    labels = label_folders(BUNDLED_DIGITS)
    assert list(labels) == sorted(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    files = sum(labels.values(), [])
    assert sum(p.stat().st_size for p in BUNDLED_DIGITS.rglob("*")) < 5_000_000
    parts = split_files(BUNDLED_DIGITS, files, (0.8, 0.1, 0.1), seed=0)
    assert len(parts["val"]) == len(parts["test"]) == 50
    speakers = {s: {p.name.split("_")[0] for p in parts[s]} for s in parts}
    assert not (speakers["train"] & speakers["val"]) and not (speakers["train"] & speakers["test"])
    info = audio_info(files[0])
    assert (info.rate, info.channels) == (16000, 1)
