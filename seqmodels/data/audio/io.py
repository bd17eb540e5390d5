"""Reading audio files: WAV (8/16/24/32-bit integer, float), FLAC and OGG through soundfile.

Every read returns mono float32 at the model's sample rate: channels are averaged, and any other
rate is resampled with torchaudio.functional.resample. A crop reads only the source frames it
needs (plus a margin for the resampling filter), so a random window of an hour-long file costs
as much as the window. A file that cannot be read is a UserError naming it; `scan_audio` checks a
whole list up front and, when only some files are bad, warns with their names and goes on
without them. An OGG file's length is the one it decodes to: its header's (the last page's
granule position) can promise more, when pages flagged end-of-stream follow the real end.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch import Tensor

from seqmodels.errors import UserError

SUFFIXES = (".wav", ".flac", ".ogg", ".oga")
_TAIL = 64  # frames read at the end of a file to prove it decodes to the end
_OGG_TAIL = 1 << 16  # frames an OGG file's end is decoded straight through, to find its length
_MARGIN = 64  # source frames read on each side of a resampled crop: the filter's support


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    rate: int  # frames per second in the file
    frames: int  # in the file, at its own rate
    channels: int

    def frames_at(self, rate: int) -> int:
        """The length in frames after resampling to `rate`."""
        return self.frames * rate // self.rate


def check_rate(rate: int, name: str = "data.sample_rate") -> int:
    if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
        raise UserError(f"{name}={rate!r}: a sample rate is a whole number of Hz >= 1, e.g. 16000")
    return rate


def audio_info(path: str | Path) -> AudioInfo:
    """The header of an audio file, checked to decode to its end; a UserError if it does not."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file (0 bytes)")
    try:
        f = sf.SoundFile(path)
    except sf.LibsndfileError as error:
        if _wav_header_rate(path) == 0:
            raise UserError(f"{path}: sample rate 0 Hz in its header: not playable") from None
        reason = str(error).replace(f"Error opening {str(path)!r}: ", "").strip()
        raise UserError(
            f"{path}: not readable audio ({reason}); soundfile reads WAV, FLAC and OGG"
        ) from None
    with f:
        info = AudioInfo(path, f.samplerate, f.frames, f.channels)
        try:
            if f.format == "OGG":
                info = dataclasses.replace(info, frames=_ogg_frames(f))
            f.seek(max(0, info.frames - _TAIL))
            complete = len(f.read(_TAIL, dtype="float32")) == min(_TAIL, info.frames)
        except RuntimeError as error:  # soundfile's errors while seeking or decoding
            raise UserError(f"{path}: truncated or damaged ({error})") from None
    if not complete:
        raise UserError(f"{path}: truncated (ends before its header says)")
    if info.frames == 0:
        raise UserError(f"{path}: no audio frames in it (zero length)")
    return info


def _ogg_frames(f: sf.SoundFile) -> int:
    """The frames an OGG file decodes to. Its header's count is the last page's granule
    position; end-of-stream pages after the real end (some encoders write them) make it promise
    frames that never come, and a seek into those returns samples from elsewhere. So the last
    stretch is decoded straight through from a seek before it, and the whole file when the
    stretch comes back empty."""
    start = max(0, f.frames - _OGG_TAIL)
    f.seek(start)
    decoded = len(f.read(f.frames - start, dtype="float32"))
    if decoded == 0 and start > 0:
        f.seek(0)
        decoded, start = sum(len(block) for block in f.blocks(_OGG_TAIL, dtype="float32")), 0
    return start + decoded


def _wav_header_rate(path: Path) -> int | None:
    """The sample rate a WAV header states, for naming the fault libsndfile refuses it for."""
    try:
        with wave.open(str(path)) as w:
            return w.getframerate()
    except (wave.Error, EOFError, OSError):
        return None


def read_audio(info: AudioInfo, rate: int, start: int = 0, frames: int | None = None) -> Tensor:
    """Mono float32 (frames,) at `rate`, from frame `start` (at `rate`) on; all of it by default.

    At another rate the crop is cut from a resampled stretch that starts on a frame where the
    source and target grids meet, so it equals the same frames of the whole file resampled
    (up to the filter margin, which is read too)."""
    total = info.frames_at(rate)
    frames = total - start if frames is None else frames
    if start < 0 or frames < 0 or start + frames > total:
        raise ValueError(f"frames [{start}, {start + frames}) outside [0, {total}) of {info.path}")
    if info.rate == rate:
        return _read(info, start, frames)
    # Source frame s lies on the target grid when s is a multiple of `step`; read from such a
    # frame, `_MARGIN` or more before the crop, to `_MARGIN` or more after it.
    g = math.gcd(info.rate, rate)
    step, target_step = info.rate // g, rate // g
    first = max(0, (start * info.rate // rate - _MARGIN) // step)  # in units of `step`
    stop = min(info.frames, math.ceil((start + frames) * info.rate / rate) + _MARGIN)
    source = _read(info, first * step, stop - first * step)
    resampled = AF.resample(source, info.rate, rate)
    offset = start - first * target_step
    return resampled[offset : offset + frames]


def _read(info: AudioInfo, start: int, frames: int) -> Tensor:
    try:
        data = sf.read(info.path, frames=frames, start=start, dtype="float32", always_2d=True)[0]
    except (sf.LibsndfileError, RuntimeError) as error:
        raise UserError(f"{info.path}: could not be decoded ({error})") from None
    if len(data) < frames:
        raise UserError(f"{info.path}: truncated (ends before its header says)")
    return torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))  # mono: mean of channels


def find_audio_files(root: str | Path, what: str = "data.root") -> list[Path]:
    """Every audio file under `root` (recursively, hidden files left out), sorted."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"{what}={root}: no such folder")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise UserError(
            f"{what}={root}: no audio files in this folder ({', '.join(SUFFIXES)}): "
            "point it at a folder of recordings"
        )
    return files


def warn(message: str) -> None:
    """A one-line warning on stderr: the run goes on."""
    print(f"seqmodels: warning: {message}", file=sys.stderr)


def scan_audio(
    paths: Iterable[Path], min_frames: int = 1, rate: int | None = None
) -> list[AudioInfo]:
    """The readable files among `paths` with at least `min_frames` frames (at `rate`); a warning
    lists the others. A UserError if none is left."""
    good, bad, short = [], [], []
    for path in paths:
        try:
            info = audio_info(path)
        except UserError as error:
            bad.append(str(error))
            continue
        if (info.frames_at(rate) if rate else info.frames) < min_frames:
            short.append(str(path))
        else:
            good.append(info)
    if bad and (good or short):
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        warn(f"skipping {len(bad)} unreadable audio file(s): {'; '.join(bad[:3])}{more}")
    elif bad:
        raise UserError(
            bad[0] if len(bad) == 1 else f"none of {len(bad)} files is readable: {bad[0]}"
        )
    if short:
        shown = ", ".join(short[:3]) + (f" and {len(short) - 3} more" if len(short) > 3 else "")
        message = f"{len(short)} file(s) shorter than {min_frames} frames: {shown}"
        if not good:
            raise UserError(f"every audio file is too short: {message}; use shorter windows")
        warn(f"skipping {message}")
    return good
