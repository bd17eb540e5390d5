"""`seqmodels export ckpt=... out=DIR`: config.json + model.safetensors that predict exactly what
the checkpoint predicts."""

import json
from pathlib import Path

import pytest
import torch

from seqmodels.cli import main
from seqmodels.models.pretrained import load_pretrained

TINY = Path(__file__).parents[1] / "fixtures" / "tiny.fa"
pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture(scope="module")
def best_ckpt(trained_run) -> Path:
    return trained_run / "checkpoints" / "best.ckpt"


def test_the_export_predicts_what_the_checkpoint_predicts(best_ckpt, workdir, capsys):
    out = workdir / "shared_model"
    assert main(["export", f"ckpt={best_ckpt}", f"out={out}"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((out / "config.json").read_text())["format"] == "seqmodels-model"

    from_ckpt, card = load_pretrained(best_ckpt)
    exported, exported_card = load_pretrained(out)
    info, exported_info = card.to_dict(), exported_card.to_dict()
    assert {k: v for k, v in exported_info.items() if not k.startswith("format")} == info
    tokens = torch.randint(1, 6, (3, 50), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(exported(tokens), from_ckpt(tokens))

    tables = {}
    for name, source in (("ckpt", best_ckpt), ("exported", out)):
        assert main(["predict", str(TINY), f"ckpt={source}", f"out={name}", "window=16"]) == 0
        tables[name] = (workdir / name / "tiny.records.tsv").read_text()
    assert tables["ckpt"] == tables["exported"]


def test_export_into_a_folder_with_other_files_is_refused(best_ckpt, workdir, one_line_error):
    busy = workdir / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    one_line_error(["export", f"ckpt={best_ckpt}", f"out={busy}"], "holds other files (notes.txt)")
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
