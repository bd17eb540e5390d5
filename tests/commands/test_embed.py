"""`seqmodels embed`: the files it writes, what they hold, one-line errors that write nothing."""

from pathlib import Path

import numpy as np
import pytest
import torch

from seqmodels.api import load
from seqmodels.cli import main
from seqmodels.data.dna.tokens import COMPLEMENT, PAD_ID, VOCAB_SIZE
from seqmodels.io.model_card import ModelCard
from seqmodels.models import ModelConfig
from seqmodels.models.pretrained import build_model, save_pretrained

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"  # records of 23, 16 and 10 bases


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny DNA language model, saved as `seqmodels export` writes it."""
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, vocab_size=VOCAB_SIZE, complement=COMPLEMENT
    )
    info = {"kind": "lm", "model": config.to_dict(), "alphabet": "dna", "pad_id": PAD_ID}
    info |= {"unit": "base", "seq_len": 8}
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("lm") / "model"
    return save_pretrained(
        folder, build_model(ModelCard.from_dict(info)), ModelCard.from_dict(info)
    )


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQMODELS_CACHE", str(tmp_path / "cache"))


def test_embed_writes_the_array_and_its_index(model_dir, tmp_path):
    out = tmp_path / "emb"
    assert main(["embed", str(TINY), f"ckpt={model_dir}", "stride=4", f"out={out}"]) == 0
    array = np.load(out / "tiny.embeddings.npy")
    lines = (out / "tiny.index.tsv").read_text().splitlines()
    assert lines[0] == "file\trecord\tstart\tend"
    assert lines[1:3] == ["tiny.fa\tchr1\t0\t8", "tiny.fa\tchr1\t4\t12"]
    assert array.dtype == np.float16 and array.shape == (len(lines) - 1, 16)
    expected, rows = load(model_dir).embed(TINY, stride=4)  # the Python API: the same numbers
    assert len(rows) == len(array)
    np.testing.assert_allclose(array, expected.astype(np.float16), rtol=1e-3, atol=1e-3)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left


def test_embed_whole_records_in_float32(model_dir, tmp_path):
    out = tmp_path / "emb"
    args = ["embed", str(TINY), f"ckpt={model_dir}", "window=record", "dtype=float32"]
    assert main([*args, "pooling=last", "segment=5", f"out={out}"]) == 0
    array = np.load(out / "tiny.embeddings.npy")
    assert array.dtype == np.float32 and array.shape == (3, 16)
    expected, _ = load(model_dir).embed(TINY, window="record", pooling="last")
    np.testing.assert_allclose(array, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "options, message",
    [
        (["dtype=float64"], "dtype='float64': expected one of float16, float32"),
        (["pooling=max"], "pooling='max': expected one of mean, last"),
        (["window=0"], "window='0': expected a whole number >= 1, or record"),
        (["window=4", "stride=8"], "stride=8 is larger than window=4"),
        (["window=record", "stride=2"], "stride= has no meaning with window=record"),
        (["colour=red"], "unknown embed option 'colour'"),
        (["missing.fa"], "FASTA file not found"),
        ([str(TINY) + ".gz"], "tiny.fa and tiny.fa.gz would both write tiny.*"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(model_dir, tmp_path, capsys, options, message):
    out = tmp_path / "emb"
    files = [str(TINY)] + [o for o in options if "=" not in o]
    pairs = [o for o in options if "=" in o]
    assert main(["embed", *files, f"ckpt={model_dir}", f"out={out}", *pairs]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not out.exists() or not list(out.iterdir())


def test_embed_needs_a_file(capsys):
    assert main(["embed"]) == 2
    assert "at least one FASTA file" in capsys.readouterr().err


def test_a_mamba_ssm_checkpoint_needs_a_window(model_dir, tmp_path, capsys):
    """Our language model's weights in the mamba_ssm layout (the same names) embed the same."""
    import json

    from safetensors.torch import save_file

    from seqmodels.models.pretrained import load_pretrained

    model, info = load_pretrained(model_dir)
    folder = tmp_path / "mamba"
    folder.mkdir()
    config = {"d_model": 16, "n_layer": 2, "vocab_size": 6, "ssm_cfg": {"d_state": 4}}
    (folder / "config.json").write_text(json.dumps(config | {"pad_vocab_size_multiple": 8}))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    (folder / "vocab.json").write_text(
        json.dumps({"<pad>": 0, "A": 1, "C": 2, "G": 3, "T": 4, "N": 5})
    )
    assert main(["embed", str(TINY), f"ckpt={folder}", "out=a"]) == 2
    assert "give window=N" in capsys.readouterr().err
    assert main(["embed", str(TINY), f"ckpt={folder}", "window=8", "out=a", "dtype=float32"]) == 0
    assert (
        main(["embed", str(TINY), f"ckpt={model_dir}", "window=8", "out=b", "dtype=float32"]) == 0
    )
    np.testing.assert_allclose(
        np.load("a/tiny.embeddings.npy"), np.load("b/tiny.embeddings.npy"), rtol=1e-5, atol=1e-6
    )
