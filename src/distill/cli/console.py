"""Terminal output: progress bars on a terminal only, and the result table."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

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

from distill.progress import SILENT, Task
from distill.progress import Progress as ProgressProtocol


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
def progress_reporter(enabled: bool) -> Iterator[ProgressProtocol]:
    """Progress bars on stderr when it is a terminal and ``enabled``; else silence."""
    if not enabled or not sys.stderr.isatty():
        yield SILENT
        return
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


@dataclass(frozen=True)
class ResultRow:
    """One line of the table printed after a build."""

    name: str
    platform: str
    digest: str
    compressed: int
    uncompressed: int


def human_size(size: int) -> str:
    """``size`` bytes in MiB/KiB with one decimal."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def print_results(rows: Sequence[ResultRow]) -> None:
    """The table of built images on stdout (aligned plain text when piped)."""
    table = Table(box=None, pad_edge=False)
    for column in ("IMAGE", "PLATFORM", "DIGEST"):
        table.add_column(column, no_wrap=True)
    for column in ("COMPRESSED", "UNCOMPRESSED"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.name, row.platform, row.digest, human_size(row.compressed),
            human_size(row.uncompressed),
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
