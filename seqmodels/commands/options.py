"""A command's `key=value` options, read from its function's signature.

Every parameter with a default is an option, and its type hint says how the text after `=` is
read: int, float, str, bool (true/false), Path, a Literal of fixed words, a union of those (tried
in order: `PositiveInt | Literal["record"]` is window=N|record), and `Annotated[int, AtLeast(1)]`
for a number with a lower bound (PositiveInt and friends below). So the signature is the one
list of a command's options and their types; the command checks only what relates its options
to each other or to the model.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from seqmodels.errors import UserError


@dataclass(frozen=True)
class AtLeast:
    """A lower bound on a number option (in `Annotated[int, AtLeast(1)]`)."""

    minimum: float


PositiveInt = Annotated[int, AtLeast(1)]
NonNegativeInt = Annotated[int, AtLeast(0)]
NonNegativeFloat = Annotated[float, AtLeast(0)]

_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


def options(command: Callable) -> dict[str, Any]:
    """{option name: type hint} of a command function: its parameters with a default."""
    hints = typing.get_type_hints(command, include_extras=True)
    return {
        name: hints.get(name, str)
        for name, parameter in inspect.signature(command).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


def parse_options(name: str, command: Callable, pairs: list[str]) -> dict[str, Any]:
    """key=value pairs → the command's keyword arguments, each of its option's type; a one-line
    UserError names an unknown option (listing the valid ones) or a value of the wrong type."""
    hints = options(command)
    values = {}
    for pair in pairs:
        key, text = pair.split("=", 1)
        if key not in hints:
            raise UserError(f"unknown {name} option '{key}'; valid options: {', '.join(hints)}")
        values[key] = convert(key, text, hints[key])
    return values


def convert(key: str, text: str, hint: Any) -> Any:
    """`text` read as `hint`, or a UserError 'key='text': expected <what the hint accepts>'."""
    try:
        return _convert(text, hint)
    except ValueError:
        raise UserError(f"{key}={text!r}: expected {describe(hint)}") from None


def _members(hint: Any) -> list[Any]:
    """A union's members, None aside (None is a default, never typed on a command line)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [h for h in typing.get_args(hint) if h is not type(None)]
    return [hint]


def _convert(text: str, hint: Any) -> Any:
    members = _members(hint)
    if len(members) > 1:
        for member in members:
            try:
                return _convert(text, member)
            except ValueError:
                continue
        raise ValueError(text)
    hint = members[0]
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        value = _convert(text, base)
        for extra in extras:
            if isinstance(extra, AtLeast) and value < extra.minimum:
                raise ValueError(text)
        return value
    if origin is Literal:
        if text in typing.get_args(hint):
            return text
        raise ValueError(text)
    if hint is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(text)
    if hint is int:
        return int(text)
    if hint is float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value
    if hint is Path:
        return Path(text).expanduser()
    if hint is str:
        return text
    raise TypeError(f"options of type {hint!r} are not supported")


def describe(hint: Any) -> str:
    """What an option of this type accepts, in words: 'a whole number >= 1, or record'."""
    members = _members(hint)
    if len(members) > 1:
        return ", or ".join(describe(member) for member in members)
    hint = members[0]
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        bounds = [f" >= {extra.minimum:g}" for extra in extras if isinstance(extra, AtLeast)]
        return describe(base) + "".join(bounds)
    if origin is Literal:
        words = [str(word) for word in typing.get_args(hint)]
        return words[0] if len(words) == 1 else f"one of {', '.join(words)}"
    names = {bool: "true or false", int: "a whole number", float: "a number", Path: "a path"}
    return names.get(hint, "text")
