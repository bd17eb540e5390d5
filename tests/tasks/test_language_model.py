"""The language-model task: loss over non-padding targets, logged in nats, bits and perplexity."""

import math

import lightning as L
import torch
from torch.utils.data import DataLoader

from seqmodels.models import ModelConfig
from seqmodels.tasks.language_model import LanguageModelTask

OPTIM = {"lr": 1e-3, "weight_decay": 0.0, "betas": [0.9, 0.95], "warmup_steps": 1}


def make_task(pad_id=None) -> LanguageModelTask:
    config = ModelConfig(d_model=16, n_layer=1, d_state=4, vocab_size=6)
    info = {"kind": "lm", "model": config.to_dict(), "pad_id": pad_id, "unit": "base"}
    return LanguageModelTask(info, {**OPTIM, "min_lr_ratio": 0.1})


def test_loss_is_the_mean_over_non_padding_targets():
    torch.manual_seed(0)
    task = make_task(pad_id=0)
    tokens = torch.tensor([[1, 2, 3, 4, 0, 0], [2, 2, 3, 1, 4, 3]])
    loss, count = task.model_step({"tokens": tokens})
    logits = task(tokens[:, :-1])
    per_token = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), tokens[:, 1:], reduction="none"
    )
    valid = tokens[:, 1:] != 0
    assert count == int(valid.sum()) == 8
    torch.testing.assert_close(loss, per_token[valid].mean())


def test_validation_logs_bits_and_perplexity_of_the_same_loss():
    torch.manual_seed(0)
    data = [{"tokens": torch.randint(1, 6, (12,))} for _ in range(8)]
    loader = DataLoader(data, batch_size=4)
    trainer = L.Trainer(
        max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    task = make_task()
    trainer.fit(task, loader, loader)
    metrics = trainer.callback_metrics
    loss = float(metrics["val/loss"])
    assert math.isclose(float(metrics["val/bits_per_base"]), loss / math.log(2), rel_tol=1e-5)
    assert math.isclose(float(metrics["val/perplexity"]), math.exp(loss), rel_tol=1e-5)
