"""Helpers every benchmark module shares: commands, timing, statistics and tables.

A benchmark module exposes ``NAME`` (used by ``run.py --only``), ``TITLE`` and
``run(ctx: Context) -> Section``. It times real commands with :func:`timed`,
summarises repeats with :class:`Stats`, and returns tables, targets and raw
figures; ``report.py`` prints them, writes the JSON and updates BENCHMARKS.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20


class BenchError(Exception):
    """A benchmark could not run: a tool is missing or a command failed."""


@dataclass(frozen=True)
class Context:
    """What a benchmark module gets from run.py."""

    work: Path
    """A scratch folder of this run (deleted afterwards unless --keep)."""
    repeat: int
    """How many times each repeated measurement runs."""
    log: Callable[[str], None]
    """Reports progress on stderr."""

    @property
    def distill(self) -> list[str]:
        """The command that runs the distill CLI of this checkout's venv."""
        script = Path(sys.executable).parent / "distill"
        return [str(script)] if script.exists() else [sys.executable, "-m", "distill.cli.main"]


@dataclass(frozen=True)
class Stats:
    """Wall-clock seconds of repeated runs of one command."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.runs)

    @property
    def min(self) -> float:
        """The fastest run."""
        return min(self.runs)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {"runs": list(self.runs), "median": self.median, "min": self.min}


@dataclass(frozen=True)
class Table:
    """One table of a report: a title, column headers, rows of text and notes."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()

    def markdown(self) -> str:
        """The table in GitHub markdown, notes as a list below it."""
        lines = [f"### {self.title}", "", _md_row(self.headers),
                 _md_row(tuple("---" for _ in self.headers))]
        lines += [_md_row(row) for row in self.rows]
        if self.notes:
            lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines)

    def text(self) -> str:
        """The table as aligned plain text for a terminal."""
        widths = [max(len(cell) for cell in column) for column in zip(self.headers, *self.rows,
                                                                      strict=True)]
        lines = [self.title, "  ".join(h.ljust(w) for h, w in zip(self.headers, widths,
                                                                   strict=True))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                  for row in self.rows]
        return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """A goal the issue sets, the figure measured against it, and whether it is met."""

    goal: str
    measured: str
    met: bool


@dataclass(frozen=True)
class Section:
    """What one benchmark module reports."""

    name: str
    title: str
    tables: tuple[Table, ...]
    targets: tuple[Target, ...]
    raw: Mapping[str, Any]
    notes: tuple[str, ...] = field(default=())


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def need_tools(*names: str) -> None:
    """Fail with one line naming the first tool of ``names`` that is not on PATH."""
    for name in names:
        if shutil.which(name) is None:
            raise BenchError(f"{name} is not installed (scripts/install-system-deps installs it)")


def run(cmd: Sequence[str], *, env: Mapping[str, str] | None = None,
        cwd: Path | None = None) -> str:
    """Run ``cmd`` to completion and return its stdout; a failure raises :class:`BenchError`."""
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(list(cmd), env=full_env, cwd=cwd, capture_output=True, text=True,
                              check=False)
    except OSError as exc:
        raise BenchError(f"cannot run {cmd[0]}: {exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise BenchError(f"{' '.join(cmd[:3])} ... exited {done.returncode}: {last[0]}")
    return done.stdout


def timed(cmd: Sequence[str], *, env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> float:
    """Wall-clock seconds ``cmd`` takes from start to exit (it must succeed)."""
    start = time.perf_counter()
    run(cmd, env=env, cwd=cwd)
    return time.perf_counter() - start


def seconds(value: float) -> str:
    """``1.23 s`` or ``456 ms``."""
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def size(value: int) -> str:
    """Bytes in KiB or MiB, with the exact byte count."""
    if value >= MIB:
        return f"{value / MIB:.2f} MiB"
    return f"{value / 1024:.1f} KiB"


def ratio(slow: float, fast: float) -> str:
    """``slow / fast`` as ``2.5x``."""
    return f"{slow / fast:.2f}x" if fast > 0 else "n/a"
