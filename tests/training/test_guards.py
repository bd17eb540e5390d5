"""A non-finite loss or gradient, injected at one step: `nonfinite_loss=stop` ends the run with
one line naming the step and keeps the last good checkpoint; `skip` drops that step only."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from seqmodels.cli import main
from seqmodels.tasks.classification import ClassificationTask

BAD_STEP = 3
# 3 batches an epoch, 6 steps, last.ckpt every 2
RUN = ("data.train_samples_per_epoch=12", "trainer.max_steps=6", "checkpoint.every_n_steps=2")
pytestmark = pytest.mark.usefixtures("isolated")


def parameters(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.model.named_parameters()}


@pytest.fixture
def poisoned(monkeypatch):
    """At optimiser step BAD_STEP, the loss (`loss`) or a gradient (`grad`) becomes NaN; records
    the parameters at the start of every training step."""
    seen: dict[int, dict[str, torch.Tensor]] = {}
    original = ClassificationTask.model_step
    kind = {"what": "loss"}

    def model_step(self, batch):
        loss, probs, labels = original(self, batch)
        if self.training:
            seen[self.global_step] = parameters(self)
            if self.global_step == BAD_STEP:
                if kind["what"] == "loss":
                    loss = loss * float("nan")
                else:
                    weight = self.model.head.weight
                    weight.register_hook(lambda grad: torch.full_like(grad, float("nan")))
        return loss, probs, labels

    monkeypatch.setattr(ClassificationTask, "model_step", model_step)
    return kind, seen


def run_dir(root: Path) -> Path:
    (run,) = [p for p in (root / "dna_species").iterdir() if p.name != "latest"]
    return run


@pytest.mark.parametrize("what", ["loss", "grad"])
def test_stop_names_the_step_and_keeps_the_last_good_checkpoint(
    poisoned, quick, one_line_error, what
):
    kind, seen = poisoned
    kind["what"] = what
    root = Path(f"stop_{what}")
    one_line_error(
        ["fit", *quick(*RUN, f"run_root={root}")],
        f"training stopped at step {BAD_STEP}",
        "loss is nan" if what == "loss" else "gradient is not finite",
    )
    run = run_dir(root)
    last = torch.load(run / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert last["global_step"] == 2  # the checkpoint before the bad step
    for key, value in last["state_dict"].items():
        if key.startswith("model."):
            assert torch.isfinite(value).all(), key
            # the weights after 2 steps: those the third training step started from
            assert torch.equal(value, seen[2][key.removeprefix("model.")]), key
    assert not (run / "model").exists() and not (root / "dna_species" / "latest").exists()


def test_skip_drops_the_bad_step_and_trains_on(poisoned, quick):
    kind, seen = poisoned
    root = Path("skip")
    assert main(["fit", *quick(*RUN, f"run_root={root}", "nonfinite_loss=skip")]) == 0
    before, after = seen[BAD_STEP], seen[BAD_STEP + 1]
    for key in before:  # the poisoned step changed nothing
        assert torch.equal(before[key], after[key]), key
    changed = [key for key in after if not torch.equal(after[key], seen[BAD_STEP + 2][key])]
    assert changed  # and training went on
    weights = load_file(run_dir(root) / "model" / "model.safetensors")
    assert all(torch.isfinite(value).all() for value in weights.values())
    assert max(seen) == 5  # all 6 steps ran (0 .. 5)
