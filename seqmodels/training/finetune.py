"""Fine-tuning: start a run from the backbone of a trained model (`init_from=RUN|MODEL_DIR|CKPT`,
or a mamba_ssm / Hugging Face checkpoint folder: seqmodels.models.mamba_checkpoint).

Only the backbone is taken (weights only, never code: seqmodels.models.pretrained); the task's head
is new. A causal backbone (task=dna_pretrain, or any causal or rc_equivariant classifier) can
start every backbone variant (seqmodels.models.backbones); an SSM model starts the SSM blocks of
a hybrid, whose attention blocks are new (named when the run starts). Its shape must be this
run's: another d_model, depth, state size or vocabulary is an error that names the fields. Options
(`finetune.*`): freeze the backbone and train the head only, or scale the backbone's learning
rate down (the optimiser reads `_lr_scale` from each parameter, seqmodels.tasks.optim). The
options hold on resume too (apply_finetune), where the weights come from the checkpoint instead.
"""

from __future__ import annotations

from omegaconf import DictConfig

from seqmodels.errors import UserError
from seqmodels.inference.load import DNA_ALPHABET
from seqmodels.models import ModelConfig
from seqmodels.models.backbones import map_backbone_state
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
        source, source_card = load_pretrained(cfg.init_from, alphabet=DNA_ALPHABET)
        # any kind of model of this run's alphabet: only its backbone is taken
        source_card.require(alphabet=module.card.alphabet, what="fine-tuning this run")
    except UserError as error:
        raise UserError(f"init_from: {error}") from None
    have = ModelConfig.from_dict(source_card.model)
    want = ModelConfig.from_dict(module.card.model)
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
        state, new = map_backbone_state(source.backbone.state_dict(), have, want)
    except ValueError as error:
        raise UserError(f"init_from={cfg.init_from}: {error}") from None
    backbone = module.model.backbone
    prefixes = tuple(f"layers.{i}." for i in new)
    try:
        missing, unexpected = backbone.load_state_dict(state, strict=False)
    except RuntimeError as error:  # an attention block of another width (model.mlp_ratio)
        first = str(error).strip().splitlines()[-1].strip()
        raise UserError(f"init_from={cfg.init_from}: its blocks do not map: {first}") from None
    if unexpected or any(not key.startswith(prefixes) for key in missing):
        raise UserError(f"init_from={cfg.init_from}: its blocks do not map onto this model")
    if new:
        blocks = ", ".join(map(str, new))
        print(
            f"init_from: attention blocks {blocks} are new (trained from scratch); the other "
            f"blocks start from {cfg.init_from}"
        )
    apply_finetune(module, cfg)


def apply_finetune(module: SequenceTask, cfg: DictConfig) -> None:
    """Freeze the backbone or scale its learning rate, as cfg.finetune says (before the
    optimiser is built: a fresh run after loading its weights, a resumed run as it restarts)."""
    if not cfg.init_from:
        return
    backbone = module.model.backbone
    if cfg.finetune.freeze_backbone:
        backbone.requires_grad_(False)
    else:
        for param in backbone.parameters():
            param._lr_scale = cfg.finetune.backbone_lr_scale
