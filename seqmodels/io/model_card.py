"""The model card: what a model is, written beside its weights (model/config.json) and kept in
every Lightning checkpoint (`hyper_parameters["info"]`, as the plain dict `to_dict()` returns).

One dataclass holds every fact about a trained model that something else needs: its kind
(classifier, regressor, multi-label classifier or language model), alphabet (DNA bases or mu-law
audio samples), backbone config, classes or targets (a regressor's with their training mean and
std) and head, and the input it was trained on. `require()` is the one check that a model is
what a command or a task needs.

The JSON keys are those of the first config.json files, so models exported before still load.
Keys this version does not know (written by a newer one) are kept: they travel through export
and checkpoints unchanged, and nothing here reads them; a file of a newer *format* version,
which would change the meaning of known keys, is refused with a line that says so.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from seqmodels.errors import UserError

FORMAT = "seqmodels-model"
FORMAT_VERSION = 1
KINDS = ("classifier", "regressor", "multilabel", "lm")
ALPHABETS = ("dna", "mulaw")

# what a (kind, alphabet) is called, and the task that trains one
_NAMES = {
    ("classifier", "dna"): ("a DNA classifier", "dna_species"),
    ("classifier", "mulaw"): ("an audio classifier", "audio_classify"),
    ("regressor", "dna"): ("a DNA regression model", "dna_classify task.target=regression"),
    ("multilabel", "dna"): ("a DNA multi-label classifier", "dna_classify task.target=multilabel"),
    ("lm", "dna"): ("a DNA language model", "dna_pretrain"),
    ("lm", "mulaw"): ("an audio language model", "audio_lm"),
}
_KIND_NAMES = {
    "classifier": "a classifier",
    "regressor": "a regression model",
    "multilabel": "a multi-label classifier",
    "lm": "a language model",
}
_ALPHABET_NAMES = {"dna": "a DNA model", "mulaw": "an audio model"}


@dataclass
class ModelCard:
    """A trained model's description; `None` fields are left out of config.json."""

    kind: str  # "classifier" | "regressor" | "multilabel" | "lm"
    model: dict[str, Any]  # the backbone's ModelConfig.to_dict() (io does not import models)
    task: str | None = None  # the task that trained it
    alphabet: str | None = None  # "dna" | "mulaw"
    class_names: list[str] | None = None  # classifiers
    # regressors and multi-label classifiers: one output per target, in this order
    target_names: list[str] | None = None
    # regressors: the training targets' mean and std; the model's outputs are in these units
    # (the head predicts (y - mean) / std, and the model returns mean + std * that)
    target_mean: list[float] | None = None
    target_std: list[float] | None = None
    pooling: str | None = None  # classifiers: mean | last (None: mean)
    rc_average: bool | None = None  # DNA classifiers: average with the reverse complement
    pad_id: int | None = None  # the padding token, masked out (None: no padding)
    unit: str | None = None  # language models: what a token is ("base", "sample")
    sample_rate: int | None = None  # audio: samples per second
    seq_len: int | None = None  # tokens per training window (audio: per clip)
    # keys of a newer version, kept as they were
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    # where the card was read from (not saved): named in errors
    source: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        where = self.source or "config.json"
        if self.kind not in KINDS:
            raise UserError(f"unknown model kind {self.kind!r} in {where}")
        if self.alphabet is not None and self.alphabet not in ALPHABETS:
            raise UserError(f"unknown alphabet {self.alphabet!r} in {where}")
        if not isinstance(self.model, dict):
            raise UserError(f"{where}: 'model' must be the backbone's settings (a mapping)")
        if self.kind == "classifier" and not self.class_names:
            raise UserError(f"{where}: a classifier without class_names")
        if self.class_names is not None:
            self.class_names = [str(name) for name in self.class_names]
        if self.kind in ("regressor", "multilabel") and not self.target_names:
            raise UserError(f"{where}: a {self.kind} without target_names")
        if self.target_names is not None:
            self.target_names = [str(name) for name in self.target_names]
        if self.kind == "regressor":
            for name in ("target_mean", "target_std"):
                values = getattr(self, name)
                if not isinstance(values, list) or len(values) != len(self.target_names):
                    raise UserError(
                        f"{where}: a regressor needs {name}, one number per target "
                        f"({len(self.target_names)})"
                    )
                setattr(self, name, [float(v) for v in values])

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str | None = None) -> ModelCard:
        """The card of a config.json or a checkpoint's `info` (the file's format keys aside)."""
        where = source or "config.json"
        if not isinstance(values, dict):
            raise UserError(f"{where}: not a seqmodels model description")
        values = {k: v for k, v in values.items() if k not in ("format", "format_version")}
        for name in ("kind", "model"):
            if name not in values:
                raise UserError(f"{where}: not a seqmodels model description (no {name!r})")
        known = {f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "source")}
        extra = {k: v for k, v in values.items() if k not in known}
        return cls(**{k: v for k, v in values.items() if k in known}, extra=extra, source=source)

    def to_dict(self) -> dict[str, Any]:
        """The plain dict of config.json's keys (and a checkpoint's hparams["info"])."""
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("extra", "source") and getattr(self, f.name) is not None
        }
        for name in ("class_names", "target_names", "target_mean", "target_std"):
            if getattr(self, name) is not None:
                values[name] = list(getattr(self, name))
        return {**self.extra, **values}

    def to_json(self) -> str:
        """config.json's text: the format marker, then the card."""
        header = {"format": FORMAT, "format_version": FORMAT_VERSION}
        return json.dumps({**header, **self.to_dict()}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> ModelCard:
        try:
            values = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"{source}: not valid JSON ({error})") from None
        if not isinstance(values, dict) or values.get("format") != FORMAT:
            raise UserError(f"{source}: not a seqmodels model description")
        version = values.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise UserError(
                f"{source}: written by a newer seqmodels (format_version {version}; this one "
                f"reads {FORMAT_VERSION}): upgrade seqmodels to load it"
            )
        return cls.from_dict(values, source)

    def describe(self) -> str:
        """'a DNA classifier (task=dna_species)' and the like."""
        if (self.kind, self.alphabet) in _NAMES:
            name = _NAMES[self.kind, self.alphabet][0]
        else:
            alphabet = self.alphabet or "unrecorded"
            name = f"{_KIND_NAMES[self.kind]} of the {alphabet} alphabet"
        return f"{name} (task={self.task})" if self.task else name

    def require(
        self, kind: str | None = None, alphabet: str | None = None, what: str = "this"
    ) -> None:
        """A one-line UserError unless the model is of `kind` and `alphabet` (None: any):
        what the model is, and what `what` (a command or task) needs."""
        if (kind is None or self.kind == kind) and (alphabet is None or self.alphabet == alphabet):
            return
        if kind is not None and alphabet is not None:
            needed, task = _NAMES[kind, alphabet]
            hint = f" from `seqmodels fit task={task}`"
        else:
            needed = _KIND_NAMES[kind] if kind is not None else _ALPHABET_NAMES[alphabet]
            hint = ""
        where = f"{self.source}: " if self.source else ""
        raise UserError(f"{where}not {needed} but {self.describe()}: {what} needs one{hint}")

    @property
    def seconds(self) -> float | None:
        """An audio model's window in seconds."""
        if self.sample_rate and self.seq_len:
            return self.seq_len / self.sample_rate
        return None
