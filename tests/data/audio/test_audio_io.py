"""Reading audio: formats, mono mixing, resampling, crops that read only their frames, bad files."""

import math
import struct

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF

from seqmodels.data.audio import io as audio_module
from seqmodels.data.audio.io import (
    audio_info,
    check_rate,
    find_audio_files,
    read_audio,
    scan_audio,
)
from seqmodels.errors import UserError


def tone(rate: int, seconds: float, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# (format, subtype, suffix, quantisation step of the format)
FORMATS = {
    "wav-u8": ("WAV", "PCM_U8", "wav", 2**-7),
    "wav-16": ("WAV", "PCM_16", "wav", 2**-15),
    "wav-24": ("WAV", "PCM_24", "wav", 2**-23),
    "wav-32": ("WAV", "PCM_32", "wav", 2**-31),
    "wav-float": ("WAV", "FLOAT", "wav", 1e-7),
    "flac": ("FLAC", "PCM_16", "flac", 2**-15),
    "ogg": ("OGG", "VORBIS", "ogg", None),
}


@pytest.mark.parametrize("case", FORMATS.values(), ids=FORMATS.keys())
def test_reads_every_format_as_mono_float32(tmp_path, case):
    fmt, subtype, suffix, step = case
    x = tone(16000, 0.25)
    path = tmp_path / f"a.{suffix}"
    sf.write(path, x, 16000, format=fmt, subtype=subtype)
    info = audio_info(path)
    assert (info.rate, info.channels) == (16000, 1)
    y = read_audio(info, 16000)
    assert y.dtype == torch.float32 and y.shape == (info.frames,)
    if step is None:  # lossy: the tone is still there
        assert np.corrcoef(y.numpy()[: len(x)], x[: len(y)])[0, 1] > 0.99
    else:
        assert np.abs(y.numpy() - x).max() <= step + 1e-7


def test_channels_are_mixed_to_mono(tmp_path):
    left, right = tone(16000, 0.1), tone(16000, 0.1, freq=1000, amplitude=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    info = audio_info(path)
    assert info.channels == 2
    torch.testing.assert_close(read_audio(info, 16000), torch.from_numpy((left + right) / 2))


@pytest.mark.parametrize("source_rate", [8000, 22050, 44100])
def test_resampling_to_the_model_rate(tmp_path, source_rate):
    x = tone(source_rate, 0.5)
    path = tmp_path / "tone.wav"
    sf.write(path, x, source_rate, subtype="FLOAT")
    info = audio_info(path)
    y = read_audio(info, 16000)
    assert len(y) == info.frames_at(16000) == source_rate // 2 * 16000 // source_rate
    torch.testing.assert_close(y, AF.resample(torch.from_numpy(x), source_rate, 16000)[: len(y)])
    # the same 440 Hz tone, now at 16 kHz (away from the edges, where the filter sees zeros)
    middle = slice(200, len(y) - 200)
    torch.testing.assert_close(
        y[middle], torch.from_numpy(tone(16000, 0.5))[middle], atol=2e-3, rtol=0
    )


@pytest.mark.parametrize("source_rate", [16000, 8000, 44100])
def test_a_crop_equals_those_frames_of_the_whole_file_and_reads_only_them(
    tmp_path, monkeypatch, source_rate
):
    x = tone(source_rate, 2.0) * np.linspace(0.1, 1, round(source_rate * 2.0), dtype=np.float32)
    path = tmp_path / "long.flac"
    sf.write(path, x, source_rate)
    info = audio_info(path)
    whole = read_audio(info, 16000)
    reads = []
    real_read = audio_module.sf.read

    def spy(*args, **kwargs):
        reads.append((kwargs["start"], kwargs["frames"]))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(audio_module.sf, "read", spy)
    start, frames = 12345, 1000
    crop = read_audio(info, 16000, start, frames)
    torch.testing.assert_close(crop, whole[start : start + frames], atol=1e-5, rtol=0)
    assert len(reads) == 1
    first, count = reads[0]
    scale = source_rate / 16000
    assert first <= start * scale and first + count >= (start + frames) * scale
    assert count <= frames * scale + 2 * 64 + 2 * source_rate / math.gcd(source_rate, 16000)


def test_crop_outside_the_file_is_a_bug_not_a_user_error(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(16000, 0.1), 16000)
    with pytest.raises(ValueError, match="outside"):
        read_audio(audio_info(path), 16000, 1500, 200)


def write_bad_files(folder) -> dict:
    """Each bad input of the issue, with a word its one-line error must contain."""
    good = tone(16000, 0.5)
    flac = folder / "ok.flac"
    sf.write(flac, good, 16000)
    data = flac.read_bytes()
    files = {
        "truncated-flac": (data[: len(data) // 2], "flac", "truncated"),
        "zero-length": (b"", "wav", "empty"),
        "text-as-wav": (b"this is not audio\n" * 20, "wav", "not readable audio"),
        "binary-as-ogg": (bytes(range(256)) * 8, "ogg", "not readable audio"),
    }
    wav = folder / "ok.wav"
    sf.write(wav, good, 16000)
    rate0 = bytearray(wav.read_bytes())
    rate0[24:28] = struct.pack("<I", 0)  # the WAV header's sample rate
    files["rate-0"] = (bytes(rate0), "wav", "sample rate 0 Hz")
    flac.unlink()
    wav.unlink()
    out = {}
    for name, (content, suffix, expected) in files.items():
        path = folder / f"{name}.{suffix}"
        path.write_bytes(content)
        out[name] = (path, expected)
    return out


BAD = ["truncated-flac", "zero-length", "text-as-wav", "binary-as-ogg", "rate-0"]


@pytest.mark.parametrize("case", BAD)
def test_bad_file_is_one_line_naming_it(tmp_path, case):
    path, expected = write_bad_files(tmp_path)[case]
    with pytest.raises(UserError) as error:
        audio_info(path)
    message = str(error.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_a_sample_rate_of_zero_is_refused():
    for bad in (0, -16000, 16000.5, "16k"):
        with pytest.raises(UserError, match="sample rate"):
            check_rate(bad)
    assert check_rate(8000) == 8000


def test_one_bad_file_among_many_is_skipped_with_a_warning(tmp_path, capsys):
    bad = write_bad_files(tmp_path)
    good = []
    for i in range(3):
        path = tmp_path / f"good{i}.wav"
        sf.write(path, tone(16000, 0.2), 16000)
        good.append(path)
    infos = scan_audio([*good, bad["truncated-flac"][0], bad["zero-length"][0]])
    assert [info.path for info in infos] == good
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("seqmodels: warning:")
    assert "truncated-flac.flac" in err and "zero-length.wav" in err


def test_all_bad_files_is_an_error(tmp_path):
    bad = write_bad_files(tmp_path)
    with pytest.raises(UserError, match="none of 2 files is readable"):
        scan_audio([bad["text-as-wav"][0], bad["rate-0"][0]])


def test_files_shorter_than_a_window_are_skipped_or_refused(tmp_path, capsys):
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(short, tone(8000, 0.05), 8000)  # 400 frames, 800 at 16 kHz
    sf.write(long, tone(8000, 0.5), 8000)
    assert [i.path for i in scan_audio([short, long], min_frames=1000, rate=16000)] == [long]
    assert "short.wav" in capsys.readouterr().err
    with pytest.raises(UserError, match="too short"):
        scan_audio([short], min_frames=1000, rate=16000)


def test_find_audio_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("b.WAV", "sub/a.flac", ".hidden/c.wav", "notes.txt", "sub/d.ogg"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in find_audio_files(tmp_path)] == [
        "b.WAV",
        "sub/a.flac",
        "sub/d.ogg",
    ]


def test_folder_with_no_audio_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="no audio files"):
        find_audio_files(tmp_path)
    with pytest.raises(UserError, match="no such folder"):
        find_audio_files(tmp_path / "missing")


def _ogg_crc(page: bytes) -> int:
    """Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def ogg_with_a_stray_end_page(path, audio: np.ndarray, rate: int, extra: int) -> None:
    """An OGG file of `audio` followed by one more end-of-stream page, a 1-byte packet whose
    granule position promises `extra` frames more, as some encoders write them (Debian's Wesnoth
    music has such files): the header then counts frames that do not decode."""
    sf.write(path, audio, rate, format="OGG", subtype="VORBIS")
    data = path.read_bytes()
    last = data.rfind(b"OggS")
    granule, serial, sequence = struct.unpack_from("<qII", data, last + 6)
    page = bytearray(
        b"OggS\x00\x04" + struct.pack("<qIII", granule + extra, serial, sequence + 1, 0)
    )
    page += b"\x01\x01\x0e"  # one segment of one byte
    struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
    path.write_bytes(data + bytes(page))


@pytest.mark.parametrize("rate", [16000, 44100])
def test_an_ogg_header_that_promises_more_frames_than_decode(tmp_path, rate):
    path = tmp_path / "stray-end.ogg"
    ogg_with_a_stray_end_page(path, tone(rate, 2.0), rate, extra=3000)
    decoded = len(sf.read(path, dtype="float32")[0])
    assert sf.info(path).frames == 2 * rate + 3000 > decoded  # the header's count
    info = audio_info(path)
    assert info.frames == decoded  # what decodes, not what the header says
    whole = read_audio(info, 16000)
    last = read_audio(info, 16000, info.frames_at(16000) - 1024, 1024)  # the last window reads
    torch.testing.assert_close(last, whole[-1024:], atol=1e-5, rtol=0)
    assert scan_audio([path], min_frames=1024, rate=16000) == [info]
