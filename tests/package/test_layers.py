"""The import rule of docs/architecture.md: no module imports from a layer above its own.

Layers, bottom to top: errors; overrides and io; kernels; models and data (which never import
each other); tasks and inference; training; commands; api and cli. A module may import its own
part and any part of a lower layer. Imports inside functions count too.
"""

import ast
from pathlib import Path

import pytest

import seqmodels

PACKAGE = Path(seqmodels.__file__).parent
LAYER = {
    "errors": 0,
    "overrides": 1,
    "io": 1,
    "kernels": 2,
    "models": 3,
    "data": 3,
    "tasks": 4,
    "inference": 4,
    "training": 5,
    "commands": 6,
    "api": 7,
    "cli": 7,
}


def part_of(module: str) -> str | None:
    """'seqmodels.data.dna.fasta' -> 'data'; None for the package itself."""
    names = module.split(".")
    return names[1] if len(names) > 1 and names[0] == "seqmodels" else None


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module + "." + alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("seqmodels.")]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "bundled" not in p.parts)


def test_every_part_has_a_layer():
    parts = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert parts - {"__init__", "conf"} <= set(LAYER), parts - set(LAYER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_from_a_higher_or_sibling_layer(path: Path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if own not in LAYER:  # the package's __init__ and conf/ (YAML only)
        return
    wrong = [
        f"line {line}: {name}"
        for line, name in imports(path)
        if (other := part_of(name)) in LAYER and other != own and LAYER[other] >= LAYER[own]
    ]
    assert not wrong, f"{own} ({LAYER[own]}) imports from its own layer or above: {wrong}"
