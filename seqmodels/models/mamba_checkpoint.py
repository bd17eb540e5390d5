"""Mamba checkpoints in the mamba_ssm / Hugging Face layout, read as seqmodels language models.

A checkpoint folder holds config.json (mamba_ssm's MambaConfig: d_model, n_layer, vocab_size,
ssm_cfg, rms_norm, residual_in_fp32, fused_add_norm, pad_vocab_size_multiple, tie_embeddings) and
the weights in model.safetensors or pytorch_model.bin (read with `torch.load(weights_only=True)`).
Its parameter names are ours after the `backbone.` prefix (mixer.py, block.py,
backbones/causal.py): `backbone.embedding.weight` (`embeddings` in the transformers port),
`backbone.layers.N.mixer.{in_proj,conv1d,x_proj,dt_proj,out_proj}.*`, `...mixer.{A_log,D}`,
`backbone.layers.N.norm.weight`, `backbone.norm_f.weight`, and `lm_head.weight`, which must be
the embedding (tied, mamba_ssm's default) since our LanguageModel ties them. The math is the
same too: pre-norm blocks with a residual stream (kept in fp32 if residual_in_fp32), RMSNorm,
and the Mamba-1 mixer; fused_add_norm only changes which kernel computes the same add and norm.

Tokens: the checkpoint has its own vocabulary. Each of our token ids takes the embedding row of
the checkpoint's id for the same token, from an explicit map (`token_map`: a dict, a JSON file,
or "A:7,C:8,G:9,T:10,N:11"), else a token_map.json, tokenizer.json, vocab.json or vocab.txt in
the folder. A, C, G and T must be found; N falls back to the unknown token, padding to the pad
token or else a zero row. Rows are permuted into our order, so the model's logits are the
checkpoint's at those ids (`source.token_ids` in the returned description).

Anything else is refused in one line that names the difference: Mamba-2 blocks, LayerNorm
(rms_norm: false), MLP or attention layers, an untied output layer, a missing, extra or
misshapen weight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from seqmodels.errors import UserError
from seqmodels.io.atomic import read_checkpoint
from seqmodels.io.model_card import ModelCard
from seqmodels.models.config import ModelConfig
from seqmodels.models.heads import LanguageModel

CONFIG_NAME = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("token_map.json", "tokenizer.json", "vocab.json", "vocab.txt")

# ssm_cfg keys of a Mamba-1 mixer; dt_init and dt_scale only set the initialisation
_MAMBA1_KEYS = {
    "layer",
    "d_state",
    "d_conv",
    "expand",
    "dt_rank",
    "dt_min",
    "dt_max",
    "dt_init",
    "dt_scale",
    "dt_init_floor",
    "conv_bias",
    "bias",
    "use_fast_path",
}
_MAMBA2_KEYS = {"ngroups", "headdim", "d_ssm", "chunk_size", "rmsnorm", "norm_before_gate"}
_CARRIED = ("d_state", "d_conv", "expand", "dt_rank", "dt_min", "dt_max", "dt_init_floor")
_PAD_TOKENS = ("[PAD]", "<pad>", "<|pad|>", "PAD", "<PAD>")
_UNK_TOKENS = ("[UNK]", "<unk>", "<|unk|>", "UNK", "<UNK>")


@dataclass(frozen=True)
class Alphabet:
    """Our vocabulary, for mapping another's onto it: `tokens[i]` is the token of our id i
    (None for padding), and the fields of a model description that name the alphabet."""

    name: str
    tokens: tuple[str | None, ...]
    pad_id: int | None
    complement: list[int] | None
    unit: str = "token"


def is_mamba_config(config: Any) -> bool:
    """Whether a parsed config.json describes a mamba_ssm model (not a seqmodels one)."""
    return (
        isinstance(config, dict)
        and "format" not in config
        and "d_model" in config
        and "n_layer" in config
    )


def _refuse(folder: Path, what: str) -> UserError:
    return UserError(f"{folder}: not a Mamba checkpoint seqmodels can run: {what}")


def model_config(folder: Path, config: dict[str, Any], alphabet: Alphabet) -> ModelConfig:
    """Our backbone config for a mamba_ssm config.json, or a UserError naming what differs."""
    ssm = config.get("ssm_cfg") or {}
    if ssm.get("layer", "Mamba1") != "Mamba1" or _MAMBA2_KEYS & set(ssm):
        found = ssm.get("layer") or ", ".join(sorted(_MAMBA2_KEYS & set(ssm)))
        raise _refuse(folder, f"it has Mamba-2 blocks (ssm_cfg: {found}); only Mamba-1 runs here")
    unknown = sorted(set(ssm) - _MAMBA1_KEYS)
    if unknown:
        raise _refuse(folder, f"unknown ssm_cfg keys {unknown}")
    if not config.get("rms_norm", True):
        raise _refuse(folder, "its blocks use LayerNorm (rms_norm: false); ours use RMSNorm")
    if config.get("d_intermediate", 0):
        raise _refuse(folder, f"it has MLP layers (d_intermediate: {config['d_intermediate']})")
    if config.get("attn_layer_idx"):
        raise _refuse(
            folder, f"it has attention layers (attn_layer_idx: {config['attn_layer_idx']})"
        )
    try:
        return ModelConfig(
            d_model=int(config["d_model"]),
            n_layer=int(config["n_layer"]),
            vocab_size=len(alphabet.tokens),
            complement=alphabet.complement,
            conv_bias=bool(ssm.get("conv_bias", True)),
            bias=bool(ssm.get("bias", False)),
            residual_in_fp32=bool(config.get("residual_in_fp32", True)),
            norm_eps=float(config.get("norm_epsilon", 1e-5)),
            **{key: ssm[key] for key in _CARRIED if key in ssm},
        )
    except (TypeError, ValueError) as error:
        raise _refuse(folder, f"config.json: {error}") from None


def _parse_token_map(token_map: dict | str | Path) -> dict[str, int]:
    if isinstance(token_map, dict):
        pairs = token_map
    elif Path(token_map).suffix == ".json" or Path(token_map).is_file():
        try:
            pairs = json.loads(Path(token_map).read_text())
        except (OSError, ValueError) as error:
            raise UserError(f"token_map={token_map}: not a readable JSON file ({error})") from None
    else:
        try:
            pairs = dict(item.split(":", 1) for item in str(token_map).split(","))
        except ValueError:
            raise UserError(
                f"token_map={token_map!r}: expected TOKEN:ID pairs, e.g. A:7,C:8,G:9,T:10,N:11"
            ) from None
    try:
        return {str(token).strip(): int(number) for token, number in pairs.items()}
    except (AttributeError, TypeError, ValueError):
        raise UserError(f"token_map={token_map!r}: every token needs a whole-number id") from None


def _tokenizer_vocab(path: Path) -> dict[str, int]:
    """token → id from a tokenizer file: token_map.json or vocab.json ({token: id}),
    tokenizer.json (Hugging Face tokenizers: model.vocab and added_tokens), vocab.txt (one per
    line, the line number is the id)."""
    if path.suffix == ".txt":
        return {line.rstrip("\r\n"): i for i, line in enumerate(path.read_text().splitlines())}
    data = json.loads(path.read_text())
    if path.name != "tokenizer.json":
        return {str(token): int(number) for token, number in data.items()}
    vocab = (data.get("model") or {}).get("vocab") or {}
    if isinstance(vocab, list):  # Unigram: [[token, score], ...], the position is the id
        vocab = {entry[0]: i for i, entry in enumerate(vocab)}
    for added in data.get("added_tokens") or []:
        vocab[added["content"]] = added["id"]
    return {str(token): int(number) for token, number in vocab.items()}


def token_ids(
    folder: Path, alphabet: Alphabet, vocab_rows: int, token_map: dict | str | Path | None = None
) -> list[int | None]:
    """For each of our ids, the checkpoint's id of the same token (None: a zero row)."""
    if token_map is not None:
        vocab, source = _parse_token_map(token_map), "token_map"
    else:
        found = [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]
        if not found:
            raise UserError(
                f"{folder}: no {', '.join(TOKENIZER_FILES)} to map its token ids onto ours: "
                "give token_map=A:ID,C:ID,G:ID,T:ID,N:ID (the checkpoint's id of each base)"
            )
        try:
            vocab, source = _tokenizer_vocab(found[0]), found[0].name
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise UserError(f"{found[0]}: not a readable tokenizer file ({error})") from None
    lower = {token.lower(): number for token, number in reversed(vocab.items())}
    ids: list[int | None] = []
    for ours, token in enumerate(alphabet.tokens):
        if token is None or ours == alphabet.pad_id:
            number = next((vocab[t] for t in _PAD_TOKENS if t in vocab), None)
        else:
            number = vocab.get(token, lower.get(token.lower()))
            if number is None and token == "N":
                number = next((vocab[t] for t in _UNK_TOKENS if t in vocab), None)
            if number is None:
                raise UserError(
                    f"{folder}: {source} has no token {token!r}: give token_map=... with the "
                    "checkpoint's id of each base"
                )
        if number is not None and not 0 <= number < vocab_rows:
            raise UserError(
                f"{folder}: {source} gives {token or 'padding'} the id {number}, outside the "
                f"embedding's {vocab_rows} rows"
            )
        ids.append(number)
    return ids


def read_weights(folder: Path) -> dict[str, Tensor]:
    """The weights, from model.safetensors or pytorch_model.bin (weights only, never code)."""
    for name in WEIGHT_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if name.endswith(".safetensors"):
            try:
                return load_file(str(path))
            except (SafetensorError, OSError) as error:
                raise UserError(f"{path}: not a readable safetensors file ({error})") from None
        state = read_checkpoint(path)  # weights only; a UserError for anything else
        if not all(isinstance(value, Tensor) for value in state.values()):
            raise UserError(f"{path}: not a state dict of tensors (mamba_ssm's pytorch_model.bin)")
        return state
    raise UserError(f"{folder}: no weights ({' or '.join(WEIGHT_FILES)}) next to config.json")


def convert_state(
    folder: Path, state: dict[str, Tensor], model: LanguageModel, ids: list[int | None]
) -> dict[str, Tensor]:
    """The checkpoint's weights under our names and in our token order."""
    ours: dict[str, Tensor] = {}
    for key, value in state.items():
        name = key.removeprefix("backbone.")
        if name == "embeddings.weight":  # the transformers port's name
            name = "embedding.weight"
        ours["lm_head.weight" if key == "lm_head.weight" else f"backbone.{name}"] = value
    embedding = ours["backbone.embedding.weight"]  # present: load_mamba_checkpoint checked
    head = ours.pop("lm_head.weight", None)
    if head is not None and (head.shape != embedding.shape or not torch.equal(head, embedding)):
        raise _refuse(folder, "lm_head.weight is not the embedding (untied); ours are tied")
    expected = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
    missing = sorted(set(expected) - set(ours))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise _refuse(folder, f"missing weight {missing[0]}{more}")
    extra = sorted(set(ours) - set(expected))
    if extra:
        raise _refuse(folder, f"unexpected weight {extra[0]} (a different architecture)")
    rows = torch.zeros_like(expected["backbone.embedding.weight"], dtype=embedding.dtype)
    for our_id, their_id in enumerate(ids):
        if their_id is not None:
            rows[our_id] = embedding[their_id]
    ours["backbone.embedding.weight"] = rows
    for key, value in ours.items():
        if value.shape != expected[key].shape:
            raise _refuse(
                folder,
                f"{key} has shape {tuple(value.shape)}, config.json implies "
                f"{tuple(expected[key].shape)}",
            )
    return ours


def load_mamba_checkpoint(
    folder: str | Path,
    alphabet: Alphabet | None,
    token_map: dict | str | Path | None = None,
) -> tuple[LanguageModel, ModelCard]:
    """A mamba_ssm checkpoint as our LanguageModel (eval mode, CPU, fp32) and its card."""
    folder = Path(folder)
    if alphabet is None:
        raise UserError(
            f"{folder}: a mamba_ssm checkpoint, which this command does not read "
            "(embed, score-variants, init_from= and seqmodels.load do)"
        )
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{folder / CONFIG_NAME}: not readable JSON ({error})") from None
    model = LanguageModel(model_config(folder, config, alphabet))
    state = read_weights(folder)
    embedding = state.get("backbone.embedding.weight", state.get("backbone.embeddings.weight"))
    if embedding is None:
        raise _refuse(folder, "missing weight backbone.embedding.weight")
    ids = token_ids(folder, alphabet, embedding.shape[0], token_map)
    model.load_state_dict(convert_state(folder, state, model, ids), strict=False)
    card = ModelCard(
        kind="lm",
        task="mamba_checkpoint",
        model=model.config.to_dict(),
        alphabet=alphabet.name,
        pad_id=alphabet.pad_id,
        unit=alphabet.unit,
        seq_len=None,  # not recorded in the checkpoint: commands ask for window=
        extra={
            "origin": {
                "format": "mamba_ssm",
                "path": str(folder),
                "token_ids": dict(zip([t or "pad" for t in alphabet.tokens], ids, strict=True)),
            }
        },
        source=str(folder / CONFIG_NAME),
    )
    return model.eval(), card
