"""Generation in recurrent mode: the decode equals the full forward, sampling is what the logits
say, and `seqmodels generate` writes valid WAVs of the requested length (or one-line errors)."""

import copy

import numpy as np
import pytest
import soundfile as sf
import torch

from seqmodels.cli import main
from seqmodels.commands.generate import one_thread, sample
from seqmodels.data.audio.mulaw import SILENCE
from seqmodels.io.model_card import ModelCard
from seqmodels.models import LanguageModel, ModelConfig
from seqmodels.models.pretrained import save_pretrained

RATE = 8000
SEQ_LEN = 400  # the model's training window, which limits a prompt


@pytest.fixture(scope="module")
def audio_lm() -> LanguageModel:
    torch.manual_seed(0)
    return LanguageModel(ModelConfig.preset("audio-small", d_model=16, n_layer=2)).eval()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, audio_lm):
    info = {
        "kind": "lm",
        "task": "audio_lm",
        "model": audio_lm.config.to_dict(),
        "alphabet": "mulaw",
        "unit": "sample",
        "sample_rate": RATE,
        "seq_len": SEQ_LEN,
    }
    return save_pretrained(tmp_path_factory.mktemp("lm") / "model", audio_lm, ModelCard(**info))


def test_recurrent_decode_equals_the_full_forward():
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig.preset("audio-small")).eval()  # the default audio model
    tokens = torch.randint(0, 256, (3, 300))
    with torch.inference_mode(), one_thread():
        full, _ = model(tokens)
        state = model.backbone.allocate_inference_cache(3)
        steps = torch.stack([model.step(tokens[:, t], state) for t in range(300)], dim=1)
    torch.testing.assert_close(steps, full, atol=2e-4, rtol=1e-4)


def test_greedy_sampling_follows_the_forward_logits(audio_lm):
    generated = sample(audio_lm, batch=2, steps=40, temperature=0.0)
    inputs = torch.cat([torch.full((2, 1), SILENCE), generated[:, :-1]], dim=1)
    with torch.inference_mode():
        expected = audio_lm(inputs)[0].argmax(-1)
    assert torch.equal(generated, expected)


def test_a_prompt_is_continued_from_its_state(audio_lm):
    prompt = torch.randint(0, 256, (50,))
    generated = sample(audio_lm, batch=2, steps=20, temperature=0.0, prompt=prompt)
    assert torch.equal(generated[0], generated[1])
    sequence = torch.cat([prompt, generated[0, :-1]])
    with torch.inference_mode():
        expected = audio_lm(sequence[None])[0][0, 49:].argmax(-1)
    assert torch.equal(generated[0], expected)


def test_sampling_draws_from_the_softmax_at_the_temperature(audio_lm):
    peaky = copy.deepcopy(audio_lm)
    with torch.no_grad():
        peaky.backbone.embedding.weight *= 20  # tied to the output layer: sharp logits
        state = peaky.backbone.allocate_inference_cache(1)
        logits = peaky.step(torch.tensor([SILENCE]), state)[0]
    batch = 20000
    for temperature in (1.0, 2.0):
        generator = torch.Generator().manual_seed(0)
        first = sample(peaky, batch, 1, temperature, generator=generator)[:, 0]
        expected = torch.softmax(logits / temperature, -1)
        for top in (1, 10):  # the mass of the most likely tokens, within 4 standard errors
            tokens = expected.topk(top).indices
            p = float(expected[tokens].sum())
            observed = float(torch.isin(first, tokens).float().mean())
            assert abs(observed - p) < 4 * (p * (1 - p) / batch) ** 0.5, (temperature, top)


def test_sampling_is_seeded(audio_lm):
    def draw(seed):
        return sample(audio_lm, 2, 300, 1.0, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(0), draw(0)) and not torch.equal(draw(0), draw(1))


def test_generate_writes_wavs_and_spectrograms_of_the_requested_length(model_dir, tmp_path):
    out = tmp_path / "gen"
    argv = ["generate", f"ckpt={model_dir}", "n=3", "seconds=0.05", "batch_size=2", f"out={out}"]
    assert main(argv) == 0
    for i in range(3):
        data, rate = sf.read(out / f"sample_00{i}.wav")
        assert rate == RATE and data.shape == (400,) and np.abs(data).max() <= 1
        assert (out / f"sample_00{i}.png").stat().st_size > 0
    # a second run adds files and keeps the first run's
    before = (out / "sample_000.wav").read_bytes()
    assert main([*argv[:2], "n=1", "seconds=0.01", f"out={out}"]) == 0
    assert (out / "sample_000.wav").read_bytes() == before
    assert sf.info(out / "sample_003.wav").frames == 80
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_generate_continues_a_prompt(model_dir, tmp_path):
    prompt = tmp_path / "prompt.wav"
    sf.write(prompt, np.sin(np.arange(320) / 5).astype(np.float32) * 0.5, 16000)  # 160 at 8 kHz
    out = tmp_path / "gen"
    argv = ["generate", f"ckpt={model_dir}", "n=1", "seconds=0.01", f"prompt={prompt}"]
    assert main([*argv, f"out={out}", "temperature=0"]) == 0
    assert sf.info(out / "sample_000.wav").frames == 160 + 80


def test_a_prompt_longer_than_the_limit_is_one_line_and_writes_nothing(
    model_dir, tmp_path, one_line_error
):
    prompt = tmp_path / "long.wav"
    sf.write(prompt, np.zeros(SEQ_LEN + 1, dtype=np.float32), RATE)
    out = tmp_path / "gen"
    argv = ["generate", f"ckpt={model_dir}", f"prompt={prompt}", f"out={out}"]
    one_line_error(argv, "trained on windows of 400 samples")
    assert not out.exists()


@pytest.mark.parametrize(
    "option, expected",
    [
        ("seconds=-1", "seconds='-1'"),
        ("n=0", "n='0'"),
        ("temperature=hot", "temperature='hot'"),
        ("compile=maybe", "compile='maybe'"),
        ("colour=red", "unknown generate option 'colour'"),
    ],
)
def test_bad_generate_options(model_dir, tmp_path, one_line_error, option, expected):
    one_line_error(["generate", f"ckpt={model_dir}", option, f"out={tmp_path}"], expected)


def test_bad_prompt_file_is_one_line(model_dir, tmp_path, one_line_error):
    prompt = tmp_path / "prompt.wav"
    prompt.write_text("not audio")
    one_line_error(["generate", f"ckpt={model_dir}", f"prompt={prompt}"], "not readable audio")


def test_generate_needs_an_audio_language_model(tmp_path, one_line_error, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_error(["generate"], "seqmodels fit task=audio_lm")
    classifier = ModelConfig.preset("audio-small", d_model=8, n_layer=1)
    from seqmodels.models import SequenceClassifier

    info = {"kind": "classifier", "model": classifier.to_dict(), "class_names": ["a", "b"]}
    path = save_pretrained(tmp_path / "clf", SequenceClassifier(classifier, 2), ModelCard(**info))
    one_line_error(["generate", f"ckpt={path}"], "not an audio language model")
