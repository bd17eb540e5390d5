"""compile=true: the compiled regions of SSM and attention blocks give the model's outputs and
gradients, fit with it learns, and without a C++ compiler on the CPU it is a one-line error."""

import csv
import shutil

import pytest
import torch

from seqmodels.models import LanguageModel, ModelConfig
from seqmodels.models.compiled import compile_blocks

pytestmark = pytest.mark.skipif(
    not any(shutil.which(name) for name in ("g++", "clang++", "c++")),
    reason="torch.compile on the CPU needs a C++ compiler",
)


def test_compiled_hybrid_matches_eager_outputs_and_gradients():
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=16, n_layer=2, d_state=4, vocab_size=6, variant="hybrid", attn_window=16
    )
    eager = LanguageModel(config)
    compiled = LanguageModel(config)
    compiled.load_state_dict(eager.state_dict())
    # one SSM block (norm + 3 mixer regions), one attention block (norm, MLP, q/k/v)
    assert compile_blocks(compiled) == 4 + 3
    ids = torch.randint(1, 5, (3, 37))  # odd length
    out = {}
    for name, model in (("eager", eager), ("compiled", compiled)):
        logits, _ = model(ids)
        logits.square().mean().backward()
        out[name] = (logits, {n: p.grad for n, p in model.named_parameters()})
    torch.testing.assert_close(out["compiled"][0], out["eager"][0], rtol=1e-5, atol=1e-5)
    for name, grad in out["eager"][1].items():
        torch.testing.assert_close(out["compiled"][1][name], grad, rtol=1e-4, atol=1e-5, msg=name)
    assert compiled.state_dict().keys() == eager.state_dict().keys()


@pytest.mark.slow  # a minute of compiling on 2 cores
def test_fit_with_compile_learns(isolated, quick):
    """A quick dna_species run with compile=true: its loss falls, as an eager run's does."""
    from seqmodels.cli import main

    argv = quick("trainer.max_steps=30", "trainer.log_every_n_steps=1", "optim.lr=3e-3")
    assert main(["fit", *argv, "compile=true"]) == 0
    rows = list(csv.DictReader(open("runs/dna_species/latest/metrics.csv")))
    losses = [float(r["train/loss"]) for r in rows if r.get("train/loss")]
    assert len(losses) >= 20
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.05, losses


def test_compile_without_a_compiler_is_one_line_error(isolated, quick, one_line_error, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    runs = isolated / "runs" / "dna_species"
    before = sorted(runs.iterdir()) if runs.exists() else []
    one_line_error(["fit", *quick(), "compile=true"], "needs a C++ compiler", "compile=false")
    after = sorted(runs.iterdir()) if runs.exists() else []
    assert after == before  # refused before a run directory is made
