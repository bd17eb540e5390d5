"""A result table printed twice: a rich table for the terminal, Markdown for BENCHMARKS.md."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_results(title: str, columns: list[str], rows: list[list[str]], left: int = 1) -> None:
    """Print `rows` under `columns`; the first `left` columns are names, the rest numbers."""
    table = Table(title=title)
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index < left else "right")
    for cells in rows:
        table.add_row(*cells)
    Console().print(table)
    print(title)
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")  # plain: a console would wrap the long rows
