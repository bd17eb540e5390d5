"""A progress-bar counter for prediction passes, which may run with or without a bar."""

from __future__ import annotations

from rich.progress import Progress, TaskID


class Counter:
    """One task of `progress` (none when `progress` is None: then counting does nothing)."""

    def __init__(self, progress: Progress | None, description: str, total: int) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        if progress is not None:
            self.task = progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)

    def set(self, completed: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=completed)
