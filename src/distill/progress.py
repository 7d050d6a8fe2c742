"""How long-running library code reports progress without printing.

The library takes a :class:`Progress` and calls it; the CLI passes one that
draws progress bars on a terminal, everything else gets :data:`SILENT`.
"""

from __future__ import annotations

from typing import Protocol


class Task(Protocol):
    """One piece of work with an optional known total (bytes or items)."""

    def advance(self, amount: int) -> None:
        """Record ``amount`` more units done."""

    def finish(self) -> None:
        """Mark the task complete."""


class Progress(Protocol):
    """A factory of :class:`Task` objects; must be safe to call from threads."""

    def task(self, description: str, total: int | None = None) -> Task:
        """Start a task and return its handle."""


class _SilentTask:
    def advance(self, amount: int) -> None:
        pass

    def finish(self) -> None:
        pass


class _Silent:
    def task(self, description: str, total: int | None = None) -> Task:
        return _SilentTask()


SILENT: Progress = _Silent()
"""A :class:`Progress` that reports nothing."""
