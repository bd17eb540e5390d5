"""Activation checkpointing per block: the same loss and gradients; blocks rerun in the backward."""

import pytest
import torch

from seqmodels.models import ModelConfig, SequenceClassifier
from seqmodels.models import block as block_module

COMPLEMENT = [0, 4, 3, 2, 1, 5]


def model(variant: str, checkpointing) -> SequenceClassifier:
    torch.manual_seed(0)
    config = ModelConfig(
        d_model=16,
        n_layer=2,
        d_state=4,
        variant=variant,
        complement=COMPLEMENT,
        checkpointing=checkpointing,
    )
    return SequenceClassifier(config, 3).double().train()


def loss_grads_and_calls(net: SequenceClassifier, ids: torch.Tensor):
    calls = []
    for layer in net.backbone.layers:  # count the mixers' runs (forward hooks miss recomputes)

        def counted(*args, mixer=layer.mixer):
            calls.append(1)
            return type(mixer).forward(mixer, *args)

        layer.mixer.forward = counted
    loss = net(ids).logsumexp(-1).sum()
    loss.backward()
    for layer in net.backbone.layers:
        del layer.mixer.forward
    grads = {name: p.grad.clone() for name, p in net.named_parameters() if p.grad is not None}
    return loss.detach(), grads, len(calls)


@pytest.mark.parametrize("variant", ["causal", "bidirectional", "rc_equivariant"])
def test_checkpointed_blocks_give_the_same_gradients(variant):
    ids = torch.randint(1, 6, (2, 37))
    loss, grads, calls = loss_grads_and_calls(model(variant, False), ids)
    loss_c, grads_c, calls_c = loss_grads_and_calls(model(variant, True), ids)
    torch.testing.assert_close(loss_c, loss, rtol=1e-12, atol=1e-12)
    assert grads_c.keys() == grads.keys() and len(grads) > 10
    for name in grads:
        torch.testing.assert_close(grads_c[name], grads[name], rtol=1e-10, atol=1e-12, msg=name)
    assert calls_c == 2 * calls  # each block ran again in the backward


def test_auto_checkpoints_long_training_sequences_only(monkeypatch):
    monkeypatch.setattr(block_module, "CHECKPOINT_AUTO_ABOVE", 20)
    net = model("causal", "auto")
    assert loss_grads_and_calls(net, torch.randint(1, 6, (1, 20)))[2] == 2  # not above: once
    assert loss_grads_and_calls(net, torch.randint(1, 6, (1, 21)))[2] == 4  # above: recomputed
    net.eval()
    assert loss_grads_and_calls(net, torch.randint(1, 6, (1, 21)))[2] == 2  # never in eval


def test_checkpointing_setting_is_checked():
    with pytest.raises(ValueError, match="model.checkpointing"):
        ModelConfig(checkpointing="sometimes")
