"""Fine-tuning: start a run from the backbone of a trained model (`init_from=RUN|MODEL_DIR|CKPT`,
or a mamba_ssm / Hugging Face checkpoint folder: seqmodels.models.mamba_checkpoint).

Only the backbone is taken (weights only, never code: seqmodels.models.pretrained); the task's head
is new. A causal backbone (task=dna_pretrain, or any causal or rc_equivariant classifier) can
start every backbone variant (seqmodels.models.backbones). Its shape must be this run's: another
d_model, depth, state size or vocabulary is an error that names the fields. Options
(`finetune.*`): freeze the backbone and train the head only, or scale the backbone's learning
rate down (the optimiser reads `_lr_scale` from each parameter, seqmodels.tasks.optim).
"""

from __future__ import annotations

from omegaconf import DictConfig

from seqmodels.errors import UserError
from seqmodels.inference.load import DNA_ALPHABET
from seqmodels.models import ModelConfig, convert_backbone_state
from seqmodels.models.pretrained import load_pretrained
from seqmodels.tasks.base import SequenceTask

# the config fields that decide the backbone's parameter shapes
SHAPE_FIELDS = (
    "d_model",
    "n_layer",
    "vocab_size",
    "pad_vocab_size_multiple",
    "d_state",
    "d_conv",
    "expand",
    "dt_rank",
    "conv_bias",
    "bias",
)


def init_from(module: SequenceTask, cfg: DictConfig) -> None:
    """Load cfg.init_from's backbone into `module` and apply cfg.finetune; nothing without it."""
    freeze, scale = cfg.finetune.freeze_backbone, cfg.finetune.backbone_lr_scale
    if not cfg.init_from:
        if freeze or scale != 1:
            raise UserError("finetune.* options need init_from=RUN: the backbone to start from")
        return
    if not scale > 0:
        raise UserError(
            f"finetune.backbone_lr_scale={scale} must be > 0: to keep the backbone as it is, "
            "use finetune.freeze_backbone=true"
        )
    try:
        # a mamba_ssm checkpoint folder is read with its tokens mapped onto the DNA alphabet
        source, source_info = load_pretrained(cfg.init_from, alphabet=DNA_ALPHABET)
    except UserError as error:
        raise UserError(f"init_from: {error}") from None
    info = module.hparams.info
    if source_info.get("alphabet") != info.get("alphabet"):
        raise UserError(
            f"init_from={cfg.init_from}: a {source_info.get('alphabet')} model cannot start a "
            f"{info.get('alphabet')} one"
        )
    have, want = ModelConfig.from_dict(source_info["model"]), ModelConfig.from_dict(info["model"])
    differ = [
        f"{name}={getattr(have, name)} (this run: {getattr(want, name)})"
        for name in SHAPE_FIELDS
        if getattr(have, name) != getattr(want, name)
    ]
    if differ:
        raise UserError(
            f"init_from={cfg.init_from}: its backbone does not fit this run's model: "
            f"{', '.join(differ)}: choose the same model (e.g. model.d_model=...) as the source run"
        )
    try:
        state = convert_backbone_state(source.backbone.state_dict(), have.variant, want.variant)
    except ValueError as error:
        raise UserError(f"init_from={cfg.init_from}: {error}") from None
    backbone = module.model.backbone
    backbone.load_state_dict(state)
    if freeze:
        backbone.requires_grad_(False)
    else:
        for param in backbone.parameters():
            param._lr_scale = scale
