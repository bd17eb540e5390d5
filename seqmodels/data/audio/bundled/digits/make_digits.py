"""Make the bundled spoken-digits set: "zero" to "nine" in the SC09 layout, from espeak-ng.

    apt-get install espeak-ng   # Debian/Ubuntu package; 1.51 made the committed files
    python make_digits.py [OUT_DIR]   # default: the folder this script is in

A speaker is an espeak-ng accent with a voice variant, a speaking rate, a pitch and a loudness,
all drawn from a seeded generator, so the set is the same on every run with the same espeak-ng.
Each speaker says every digit once, and a speaker's clips all go to one split (as in SC09, whose
lists split by speaker): validation_list.txt and testing_list.txt name the held-out files,
everything else trains. Clips are 16 kHz mono 16-bit FLAC, cut to the speech plus a short margin.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# human-sounding variants (no whisper, croak or robots): the label must stay audible
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "Alex", "Alicia", "Andrea", "Andy", "Annie",
    "belinda", "benjamin", "caleb", "david", "edward", "gustave", "john", "linda", "max",
    "michel", "norbert", "pablo", "paul", "steph", "travis", "victor", "zac",
)  # fmt: skip
SPEAKERS = 48
HELD_OUT = 5  # speakers for validation, and as many for testing
RATE = 16_000
MARGIN = 0.03  # seconds of signal kept before and after the speech
SEED = 5


def speak(word: str, voice: str, speed: int, pitch: int, amplitude: int) -> np.ndarray:
    """espeak-ng's rendering of `word`, resampled to RATE and cut to the speech (float32)."""
    command = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude)]
    wav = subprocess.run([*command, "--stdout", word], capture_output=True, check=True).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    audio = AF.resample(torch.from_numpy(audio), rate, RATE).numpy()
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    margin = int(MARGIN * RATE)
    return audio[max(0, loud[0] - margin) : loud[-1] + margin + 1].clip(-1, 1)


def main(out: Path) -> None:
    rng = random.Random(SEED)
    voices = [(a, v) for a in ACCENTS for v in VARIANTS]
    speakers = []
    for i, (accent, variant) in enumerate(rng.sample(voices, SPEAKERS)):
        speakers.append(
            {
                "id": f"{i:02d}{accent.replace('-', '')}{variant.lower()}",
                "voice": f"{accent}+{variant}",
                "speed": rng.randint(120, 230),
                "pitch": rng.randint(20, 80),
                "amplitude": rng.randint(60, 180),
            }
        )
    held_out = rng.sample(range(SPEAKERS), 2 * HELD_OUT)
    split = {i: "validation" if k < HELD_OUT else "testing" for k, i in enumerate(held_out)}
    lists: dict[str, list[str]] = {"validation": [], "testing": []}
    for digit in DIGITS:
        (out / digit).mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(speakers):
            name = f"{digit}/{s['id']}_nohash_0.flac"
            audio = speak(digit, s["voice"], s["speed"], s["pitch"], s["amplitude"])
            sf.write(out / name, audio, RATE, format="FLAC", subtype="PCM_16")
            if i in split:
                lists[split[i]].append(name)
    for which, names in lists.items():
        (out / f"{which}_list.txt").write_text("".join(f"{n}\n" for n in sorted(names)))
    voices_tsv = ["speaker\tvoice\tspeed\tpitch\tamplitude\tsplit\n"]
    for i, s in enumerate(speakers):
        row = [s["id"], s["voice"], str(s["speed"]), str(s["pitch"]), str(s["amplitude"])]
        voices_tsv.append("\t".join([*row, split.get(i, "training")]) + "\n")
    (out / "speakers.tsv").write_text("".join(voices_tsv))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
