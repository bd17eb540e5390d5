"""Sampling audio from an audio language model in recurrent mode, and `seqmodels generate`.

The model decodes one sample per step with `LanguageModel.step`, which carries a fixed-size state
(the conv window and SSM state of every layer), so each new sample costs the same time and memory
however long the audio already is. Sequences are sampled in batches; a prompt is fed through the
model in one pass (the backbone's forward with a state), and sampling continues from its state.

Sampling uses the Gumbel-max trick, argmax(logits + T·g) with Gumbel noise g drawn for many steps
at once: one op per step instead of softmax and multinomial, and T = 0 is greedy decoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import soundfile as sf
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import Tensor

from seqmodels.commands.options import NonNegativeFloat, NonNegativeInt, PositiveInt
from seqmodels.data.audio.io import audio_info, read_audio
from seqmodels.data.audio.mulaw import SILENCE, mu_law_decode, mu_law_encode
from seqmodels.errors import UserError
from seqmodels.io.atomic import atomic_write
from seqmodels.models import BackboneState, LanguageModel
from seqmodels.models.pretrained import load_pretrained
from seqmodels.training.plots import plot_spectrogram
from seqmodels.training.runs import latest_run

NOISE_BLOCK = 256  # steps of Gumbel noise drawn at once
PROGRESS_EVERY = 1024  # steps between progress-bar updates (an update costs more than a step)
# compile=auto compiles the step once a generation has this many steps in all (batches × steps):
# compiling takes tens of seconds, and eager decoding of this many steps takes about a minute
AUTO_COMPILE_STEPS = 60_000


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch ops on one thread. A decode step's ops are far too small to share between
    cores, and on a busy machine each op would wait at a barrier for a descheduled second thread
    (measured on 2 busy cores: 40x slower at batch 16)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def gumbel_noise(steps: int, batch: int, classes: int, generator: torch.Generator) -> Tensor:
    """(steps, batch, classes) Gumbel(0, 1) samples: -log of Exp(1) samples."""
    return torch.empty(steps, batch, classes).exponential_(generator=generator).log_().neg_()


@torch.inference_mode()
def sample(
    model: LanguageModel,
    batch: int,
    steps: int,
    temperature: float = 1.0,
    prompt: Tensor | None = None,
    generator: torch.Generator | None = None,
    step_fn: Callable | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Tensor:
    """`steps` new tokens for each of `batch` sequences (batch, steps), int64.

    Without a prompt, generation starts after one silence token; with a prompt (P,) of tokens,
    every sequence continues it. `step_fn` replaces `model.step` (e.g. a compiled one);
    `on_progress(k)` hears of every k further steps done."""
    with one_thread():
        generator = generator or torch.Generator().manual_seed(0)
        step_fn = step_fn or model.step
        device = next(model.parameters()).device
        state = model.backbone.allocate_inference_cache(batch, device)
        if prompt is None:
            logits = step_fn(torch.full((batch,), SILENCE, dtype=torch.long, device=device), state)
        else:
            context = prompt.to(device)[None].expand(batch, -1)
            logits = model(context, state)[0][:, -1]  # (batch, V): the state now follows the prompt
        tokens = torch.empty(batch, steps, dtype=torch.long, device=device)
        for t in range(steps):
            if temperature > 0 and t % NOISE_BLOCK == 0:
                block = min(NOISE_BLOCK, steps - t)
                noise = gumbel_noise(block, batch, logits.shape[-1], generator).to(device)
                noise *= temperature
            if temperature > 0:
                logits += noise[t % NOISE_BLOCK]
            token = logits.argmax(-1)  # (batch,)
            tokens[:, t] = token
            if t + 1 < steps:
                logits = step_fn(token, state)
            if on_progress and (t + 1) % PROGRESS_EVERY == 0:
                on_progress(PROGRESS_EVERY)
        if on_progress:
            on_progress(steps % PROGRESS_EVERY)
        return tokens


def compiled_step(model: LanguageModel, console: Console) -> Callable:
    """model.step through torch.compile, or model.step itself (with a warning) if compiling
    fails, e.g. without a C++ compiler."""
    compiled = torch.compile(model.step, dynamic=False)
    failed = False

    def step(ids: Tensor, state: BackboneState) -> Tensor:
        nonlocal failed
        if failed:
            return model.step(ids, state)
        try:
            return compiled(ids, state)
        except Exception as error:  # any compiler failure: decode without it
            failed = True
            reason = (str(error).strip().splitlines() or [""])[0][:200]
            console.print(
                f"[yellow]torch.compile failed ({type(error).__name__}: {reason}); "
                "generating without it[/yellow]"
            )
            return model.step(ids, state)

    return step


def load_prompt(path: str | Path, rate: int, limit: int) -> Tensor:
    """The prompt file as tokens (P,) at the model's rate; a UserError past `limit` samples."""
    info = audio_info(path)
    length = info.frames_at(rate)
    if length > limit:
        raise UserError(
            f"{path}: the prompt is {length / rate:.3f} s ({length} samples at {rate} Hz) but this "
            f"model was trained on windows of {limit} samples ({limit / rate:.3f} s): "
            "use a shorter prompt"
        )
    if length < 1:
        raise UserError(f"{path}: the prompt is shorter than one sample at {rate} Hz")
    return mu_law_encode(read_audio(info, rate))


def _free_names(out: Path, count: int) -> list[str]:
    """sample_NNN names after the highest already in `out`, so earlier outputs stay."""
    taken = [
        int(m.group(1))
        for p in out.glob("sample_*.wav")
        if (m := re.match(r"sample_(\d+)", p.stem))
    ]
    first = max(taken, default=-1) + 1
    width = max(3, len(str(first + count - 1)))
    return [f"sample_{i:0{width}d}" for i in range(first, first + count)]


def generate_command(
    ckpt: Path | None = None,
    n: PositiveInt = 4,
    seconds: NonNegativeFloat = 2.0,
    prompt: Path | None = None,
    temperature: NonNegativeFloat = 1.0,
    out: Path = Path("generated"),
    batch_size: PositiveInt | None = None,
    seed: NonNegativeInt = 0,
    compile: Literal["auto", "true", "false"] = "auto",
    run_root: Path = Path("runs"),
) -> list[Path]:
    """`seqmodels generate`: write n WAV files (and a spectrogram PNG of each) to `out`, from
    ckpt or the newest audio_lm run under run_root; batch_size: min(n, 16) by default."""
    batch_size = batch_size or min(n, 16)
    model, card = load_pretrained(ckpt or latest_run(run_root, "audio_lm"))
    card.require(kind="lm", alphabet="mulaw", what="generate")
    rate = card.sample_rate
    steps = round(seconds * rate)
    if steps < 1:
        raise UserError(f"seconds={seconds}: shorter than one sample at {rate} Hz")
    context = load_prompt(prompt, rate, card.seq_len) if prompt else None
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = _free_names(out_dir, n)

    console = Console()
    batches = [names[i : i + batch_size] for i in range(0, n, batch_size)]
    use_compile = compile == "true" or (
        compile == "auto" and steps * len(batches) >= AUTO_COMPILE_STEPS
    )
    step_fn = compiled_step(model, console) if use_compile else model.step
    generator = torch.Generator().manual_seed(seed)
    written: list[Path] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task(f"sampling {n} × {seconds:g} s", total=steps * len(batches))
        for group in batches:
            # a compiled step is specialised to its batch size: the last batch is filled up too
            tokens = sample(
                model,
                batch_size if use_compile else len(group),
                steps,
                temperature,
                context,
                generator,
                step_fn,
                lambda k: progress.advance(task, k),
            )[: len(group)]
            if context is not None:
                tokens = torch.cat([context[None].expand(len(group), -1), tokens], dim=1)
            audio = mu_law_decode(tokens)  # (batch, samples) in [-1, 1]
            for name, clip in zip(group, audio, strict=True):
                wav, png = out_dir / f"{name}.wav", out_dir / f"{name}.png"
                atomic_write(  # a killed run never leaves a partial file
                    wav, lambda p, c=clip: sf.write(p, c.numpy(), rate, "PCM_16", format="WAV")
                )
                atomic_write(png, lambda p, c=clip, t=name: plot_spectrogram(c.numpy(), rate, p, t))
                written.append(wav)
    console.print(f"wrote {len(written)} WAV files ({rate} Hz) and spectrograms to {out_dir}")
    return written
