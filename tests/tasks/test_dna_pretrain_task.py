"""task=dna_pretrain from the command line, and fine-tuning its model on labelled sequences."""

import json
import random
from pathlib import Path

import pytest

from seqmodels.cli import main

SMALL = [
    "model.d_model=16",
    "model.n_layer=1",
    "data.seq_len=64",
    "data.batch_size=2",
    "data.val_windows_per_file=2",
    "data.test_windows_per_file=2",
]


pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture(scope="module")
def fasta(workdir) -> list[Path]:
    rng = random.Random(0)
    paths = []
    for name in ("one", "two"):
        path = workdir / f"{name}.fa"
        path.write_text(f">{name}\n" + "".join(rng.choices("ACGT", k=3000)) + "\n")
        paths.append(path)
    return paths


def test_pretrain_then_fine_tune_an_rc_equivariant_classifier(workdir, fasta, capsys):
    files = "data.fasta=[" + ",".join(str(path) for path in fasta) + "]"
    argv = ["fit", "task=dna_pretrain", files, "warmup.min_len=16", *SMALL]
    assert main([*argv, "trainer.fast_dev_run=true"]) == 0
    assert "test/bits_per_base" in capsys.readouterr().out
    run = (workdir / "runs" / "dna_pretrain" / "latest").resolve()
    info = json.loads((run / "model" / "config.json").read_text())
    assert info["kind"] == "lm" and info["unit"] == "base"

    labelled = workdir / "labelled.fa"
    rng = random.Random(1)
    labelled.write_text(
        "".join(f">s{i}|{'ab'[i % 2]}\n{''.join(rng.choices('ACGT', k=30))}\n" for i in range(30))
    )
    finetune = [
        "fit",
        "task=dna_classify",
        f"data.train={labelled}",
        f"init_from={run}",
        "model.variant=rc_equivariant",
        "finetune.backbone_lr_scale=0.1",
        "model.d_model=16",
        "model.n_layer=1",
        "trainer.fast_dev_run=true",
    ]
    assert main(finetune) == 0


def test_pretraining_needs_a_causal_model(one_line_error, fasta):
    argv = ["fit", "task=dna_pretrain", f"data.fasta={fasta[0]}", "model.variant=bidirectional"]
    one_line_error([*argv, *SMALL], "trains a causal next-base model")
