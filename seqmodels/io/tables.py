"""The tables the package prints, with every value whole.

rich fits a table to the console, 80 columns when the output is a pipe or a file, by cutting
cells to "…" and squeezing a wrappable column down to nothing: a log then says "4,630,…" and
"escherichia_c…". `print_table` folds a cell that does not fit a terminal onto more lines, and
prints to a pipe or a file as wide as the table is, where no one can widen the window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

UNLIMITED = 1_000_000  # a width no table reaches: measure a table at its natural width


def print_table(table: Table, console: Console | None = None) -> None:
    console = console or Console()
    for column in table.columns:
        column.no_wrap, column.overflow = False, "fold"
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update_width(UNLIMITED), table).maximum
    Console(file=console.file, width=max(console.width, natural)).print(table)


def print_counts(
    title: str, first: str, names: Sequence[str], counts: Mapping[str, Sequence[int]]
) -> None:
    """A table of how many examples of each name (column `first`) every split holds."""
    table = Table(title=title)
    table.add_column(first)
    for split in counts:
        table.add_column(split, justify="right")
    for i, name in enumerate(names):
        table.add_row(name, *(str(counts[split][i]) for split in counts))
    print_table(table)
