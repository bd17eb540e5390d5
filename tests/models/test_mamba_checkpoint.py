"""mamba_ssm / Hugging Face checkpoints read as our LanguageModel, checked against mambapy.

mambapy is an independent pure-PyTorch Mamba: a small random one is written in the mamba_ssm
layout (config.json, model.safetensors under mamba_ssm's names, a vocab.json whose bases sit at
other ids than ours), loaded by seqmodels, and both must give the same logits.
"""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from seqmodels.data.dna.tokens import VOCAB_SIZE
from seqmodels.errors import UserError
from seqmodels.inference.load import load_model
from seqmodels.models.pretrained import load_pretrained

mambapy = pytest.importorskip("mambapy")
from mambapy.mamba import Mamba, MambaConfig, RMSNorm  # noqa: E402

# the checkpoint's vocabulary: 12 tokens, the bases at ids of their own
VOCAB = {"<pad>": 0, "<unk>": 1, "<s>": 2, "C": 3, "T": 4, "x": 5, "y": 6, "A": 7, "z": 8}
VOCAB |= {"G": 9, "N": 10, "w": 11}
OURS_TO_THEIRS = [0, 7, 3, 9, 4, 10]  # PAD A C G T N


class LM(torch.nn.Module):
    """mambapy.lm.LM's forward and parameter names (mambapy.lm itself imports its Mamba-2 module,
    which needs einops): embedding → mambapy's Mamba blocks → RMSNorm → lm_head."""

    def __init__(self, config: MambaConfig, vocab_size: int, pad_vocab_size_multiple: int):
        super().__init__()
        rows = -(-vocab_size // pad_vocab_size_multiple) * pad_vocab_size_multiple
        self.embedding = torch.nn.Embedding(rows, config.d_model)
        self.mamba = Mamba(config)
        self.norm_f = RMSNorm(config.d_model, config.rms_norm_eps)
        self.lm_head = torch.nn.Linear(config.d_model, rows, bias=False)

    def forward(self, tokens):
        return self.lm_head(self.norm_f(self.mamba(self.embedding(tokens))))


def mambapy_lm(residual_in_fp32: bool) -> tuple[LM, dict]:
    torch.manual_seed(0)
    config = MambaConfig(d_model=16, n_layers=2, d_state=4, d_conv=4, expand_factor=2, pscan=False)
    lm = LM(config, vocab_size=len(VOCAB), pad_vocab_size_multiple=8).double().eval()
    lm.lm_head.weight = lm.embedding.weight  # tied, as mamba_ssm's models are
    with torch.no_grad():  # move every parameter off its initial value, norms and D included
        for param in lm.parameters():
            param.add_(0.3 * torch.randn_like(param))
            param.copy_(param.float())  # values a float32 model holds exactly, as ours loads
    hf_config = {
        "d_model": 16,
        "n_layer": 2,
        "vocab_size": len(VOCAB),
        "ssm_cfg": {"d_state": 4, "d_conv": 4, "expand": 2, "dt_rank": "auto"},
        "rms_norm": True,
        "residual_in_fp32": residual_in_fp32,
        "fused_add_norm": True,
        "pad_vocab_size_multiple": 8,
        "tie_embeddings": True,
    }
    return lm, hf_config


def mamba_ssm_names(lm: LM) -> dict[str, torch.Tensor]:
    """mambapy's parameter names → mamba_ssm's (embedding, mamba.layers, norm_f, lm_head)."""
    state = {}
    for key, value in lm.state_dict().items():
        if key.startswith("mamba."):
            name = "backbone." + key.removeprefix("mamba.")
        elif key == "lm_head.weight":
            name = key
        else:
            name = "backbone." + key
        state[name] = value.detach().clone().contiguous()  # safetensors refuses shared memory
    return state


def write_checkpoint(folder: Path, config: dict, state: dict, vocab: dict | None = VOCAB) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(state, str(folder / "model.safetensors"))
    if vocab is not None:
        (folder / "vocab.json").write_text(json.dumps(vocab))
    return folder


@pytest.mark.parametrize("residual_in_fp32, tolerance", [(False, 1e-10), (True, 1e-5)])
def test_logits_equal_mambapy(tmp_path, residual_in_fp32, tolerance):
    lm, config = mambapy_lm(residual_in_fp32)
    folder = write_checkpoint(tmp_path / "ckpt", config, mamba_ssm_names(lm))
    model, card = load_model(folder)
    assert card.kind == "lm" and card.alphabet == "dna"
    assert card.extra["origin"]["token_ids"] == dict(
        zip(["pad", *"ACGTN"], OURS_TO_THEIRS, strict=True)
    )
    model = model.double()
    ids = torch.randint(1, VOCAB_SIZE, (2, 37))
    theirs = torch.tensor(OURS_TO_THEIRS)[ids]
    with torch.no_grad():
        expected = lm(theirs)[..., OURS_TO_THEIRS]
        logits, _ = model(ids)
    torch.testing.assert_close(logits, expected, rtol=tolerance, atol=tolerance)


def test_pytorch_model_bin_and_explicit_token_map(tmp_path):
    lm, config = mambapy_lm(False)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(mamba_ssm_names(lm), folder / "pytorch_model.bin")
    with pytest.raises(UserError, match="token_map="):  # no tokenizer file to read
        load_model(folder)
    model, card = load_model(folder, token_map="A:7,C:3,G:9,T:4,N:10")
    assert card.extra["origin"]["token_ids"]["A"] == 7
    assert card.extra["origin"]["token_ids"]["pad"] is None  # a zero row: no pad token named
    assert torch.count_nonzero(model.backbone.embedding.weight[0]) == 0


def test_tokenizer_json(tmp_path):
    lm, config = mambapy_lm(False)
    tokenizer = {"model": {"type": "WordLevel", "vocab": {"A": 7, "C": 3, "G": 9, "T": 4}}}
    tokenizer["added_tokens"] = [{"id": 1, "content": "[UNK]"}, {"id": 0, "content": "[PAD]"}]
    folder = write_checkpoint(tmp_path / "ckpt", config, mamba_ssm_names(lm), vocab=None)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    _, card = load_model(folder)
    assert card.extra["origin"]["token_ids"] == {"pad": 0, "A": 7, "C": 3, "G": 9, "T": 4, "N": 1}


def test_init_from_a_mamba_checkpoint(tmp_path):
    from omegaconf import OmegaConf

    from seqmodels.tasks.classification import ClassificationTask
    from seqmodels.training.finetune import init_from

    lm, config = mambapy_lm(True)
    folder = write_checkpoint(tmp_path / "ckpt", config, mamba_ssm_names(lm))
    source, card = load_model(folder)
    task_info = {"kind": "classifier", "model": card.model, "class_names": ["a", "b"]}
    task_info |= {"alphabet": "dna", "pad_id": 0}
    optim = {"lr": 1e-3, "weight_decay": 0.1, "betas": [0.9, 0.95], "warmup_steps": 1}
    task = ClassificationTask(task_info, {**optim, "min_lr_ratio": 0.1})
    finetune = {"freeze_backbone": False, "backbone_lr_scale": 1.0}
    init_from(task, OmegaConf.create({"init_from": str(folder), "finetune": finetune}))
    for key, value in source.backbone.state_dict().items():
        torch.testing.assert_close(task.model.backbone.state_dict()[key], value, msg=key)


def refused(tmp_path, config=None, state=None, vocab=VOCAB) -> str:
    lm, base = mambapy_lm(False)
    folder = write_checkpoint(
        tmp_path / "ckpt", config or base, state or mamba_ssm_names(lm), vocab
    )
    with pytest.raises(UserError) as error:
        load_model(folder)
    message = str(error.value)
    assert "\n" not in message
    return message


def _config(**changes) -> dict:
    config = mambapy_lm(False)[1]
    for key, value in changes.items():
        if key.startswith("ssm_"):
            config["ssm_cfg"][key.removeprefix("ssm_")] = value
        else:
            config[key] = value
    return config


def test_refuses_mamba2(tmp_path):
    assert "Mamba-2" in refused(tmp_path, _config(ssm_layer="Mamba2"))


def test_refuses_mamba2_keys(tmp_path):
    assert "headdim" in refused(tmp_path, _config(ssm_headdim=8, ssm_ngroups=1))


def test_refuses_layernorm(tmp_path):
    assert "rms_norm: false" in refused(tmp_path, _config(rms_norm=False))


def test_refuses_a_missing_weight(tmp_path):
    state = mamba_ssm_names(mambapy_lm(False)[0])
    del state["backbone.layers.1.mixer.D"]
    assert "missing weight backbone.layers.1.mixer.D" in refused(tmp_path, state=state)


def test_refuses_an_untied_output_layer(tmp_path):
    state = mamba_ssm_names(mambapy_lm(False)[0])
    state["lm_head.weight"] = state["lm_head.weight"] + 1
    assert "untied" in refused(tmp_path, state=state)


def test_refuses_a_shape_that_config_does_not_give(tmp_path):
    assert "shape" in refused(tmp_path, _config(ssm_d_state=8))


def test_refuses_a_vocabulary_without_a_base(tmp_path):
    vocab = {k: v for k, v in VOCAB.items() if k != "G"}
    assert "no token 'G'" in refused(tmp_path, vocab=vocab)


def test_other_commands_say_they_do_not_read_it(tmp_path):
    lm, config = mambapy_lm(False)
    folder = write_checkpoint(tmp_path / "ckpt", config, mamba_ssm_names(lm))
    with pytest.raises(UserError, match="mamba_ssm checkpoint"):
        load_pretrained(folder)
