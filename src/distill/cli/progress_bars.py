"""Progress bars and tables drawn with rich: loaded only when a terminal shows them."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from distill.progress import Task


class _BarTask:
    def __init__(self, bars: Progress, task_id: TaskID, lock: threading.Lock) -> None:
        self._bars = bars
        self._id = task_id
        self._lock = lock

    def advance(self, amount: int) -> None:
        with self._lock:
            self._bars.advance(self._id, amount)

    def finish(self) -> None:
        with self._lock:
            total = self._bars.tasks[self._bars.task_ids.index(self._id)].total
            self._bars.update(self._id, completed=total or 1, total=total or 1)


class _BarProgress:
    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._lock = threading.Lock()

    def task(self, description: str, total: int | None = None) -> Task:
        with self._lock:
            task_id = self._bars.add_task(description, total=total)
        return _BarTask(self._bars, task_id, self._lock)


@contextmanager
def progress_bars() -> Iterator[_BarProgress]:
    """Transient progress bars on stderr while the block runs."""
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bars:
        yield _BarProgress(bars)


def print_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, right_aligned: Sequence[int] = ()
) -> None:
    """A borderless table on stdout."""
    table = Table(box=None, pad_edge=False)
    for index, column in enumerate(header):
        table.add_column(column, no_wrap=True,
                         justify="right" if index in right_aligned else "left")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
