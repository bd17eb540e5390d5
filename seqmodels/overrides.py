"""Checking `key=value` overrides: unknown keys, values of the wrong type, values not in a set.

The configuration is YAML without a schema, so a default's type is the schema: an override of a
key whose default is a whole number must be a whole number, and so on. A mistake is a UserError
that names the key, what it expected, and (for an unknown key) the valid keys at its level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from seqmodels.errors import UserError

# keys whose null means something (their YAML comments say what), besides those null by default
NULLABLE = ("trainer.", "warmup.min_len", "checkpoint.every_n_steps", "data.train_seq_len")
ANY_TYPE = ("trainer.devices", "trainer.precision", "trainer.strategy", "trainer.accelerator")

MISSING = object()


def parse(overrides: Iterable[str]) -> list:
    """Hydra's parsed overrides (key_or_group, type, value())."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        return OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as error:
        first = str(error).splitlines()[0]
        raise UserError(f"{first}: arguments must look like key=value") from None


def unknown_key_message(cfg: DictConfig, key: str) -> str:
    """'unknown config key ...; valid keys at <level>: ...' for a key not in cfg."""
    node, parent = cfg, []
    for part in key.split(".")[:-1]:
        if not isinstance(node, DictConfig) or part not in node:
            break
        node, parent = node[part], [*parent, part]
    where = ".".join(parent) or "the top level"
    valid = ", ".join(sorted(node.keys())) if isinstance(node, DictConfig) else ""
    return f"unknown config key '{key}'; valid keys at {where}: {valid}"


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list | ListConfig):
        return "list"
    if isinstance(value, dict | DictConfig):
        return "dict"
    return None  # strings and anything else: not checked here


_EXPECTED = {
    "bool": ("true or false", {"bool"}),
    "int": ("a whole number", {"int"}),
    "float": ("a number", {"int", "float"}),
    "list": ("a list, e.g. [a,b]", {"list"}),
    "dict": ("a mapping, e.g. '{a: 1}'", {"dict"}),
}


def select(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.select(cfg, key, default=MISSING, throw_on_missing=False)


def check_value(key: str, value: Any, default: Any) -> None:
    """A UserError unless `value` has the type of `default` (the value the key had before)."""
    if default is MISSING or default is None or key.startswith(ANY_TYPE):
        return
    kind = _kind(default)
    if kind is None:
        return
    if value is None:
        if key.startswith(NULLABLE):
            return
        expected = _EXPECTED[kind][0]
        raise UserError(f"{key}=null: expected {expected} (default: {_show(default)})")
    if _kind(value) not in _EXPECTED[kind][1]:
        expected = _EXPECTED[kind][0]
        raise UserError(f"{key}={_show(value)}: expected {expected} (default: {_show(default)})")


def _show(value: Any) -> str:
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_container(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def check_choices(cfg: DictConfig, choices: Mapping[str, Iterable[str]]) -> None:
    """A UserError unless each key of `choices` is null, absent or one of its values: values
    outside these sets would fail deep inside a run. The sets are the caller's (they live with
    the code that uses them, in layers above this one: seqmodels.training.choices)."""
    for key, allowed in choices.items():
        allowed = tuple(allowed)
        value = select(cfg, key)
        if value is not MISSING and value is not None and value not in allowed:
            raise UserError(f"{key}={value}: choose one of {', '.join(allowed)}")


def is_group_override(cfg: DictConfig, override) -> bool:
    """task=NAME, model=NAME, trainer=NAME: a config group chosen by name."""
    key = override.key_or_group
    return "." not in key and isinstance(select(cfg, key), DictConfig)


def check_composed(
    cfg: DictConfig,
    overrides: list[str],
    compose: Callable[[list[str]], DictConfig],
    choices: Mapping[str, Iterable[str]],
) -> None:
    """Check a composed configuration's overridden values against the defaults of its groups
    (`compose(group_overrides)`: the configuration before the other overrides), and the keys
    of `choices` against their sets."""
    parsed = parse(overrides)
    groups = [o.input_line for o in parsed if is_group_override(cfg, o)]
    base = compose(groups)
    for override in parsed:
        if is_group_override(cfg, override) or override.type.name == "DEL":
            continue
        key = override.key_or_group
        check_value(key, select(cfg, key), select(base, key))
    check_choices(cfg, choices)
