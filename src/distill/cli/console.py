"""Terminal output: progress bars on a terminal only, and the result table."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from distill.progress import SILENT
from distill.progress import Progress as ProgressProtocol


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[ProgressProtocol]:
    """Progress bars on stderr when it is a terminal and ``enabled``; else silence."""
    if not enabled or not sys.stderr.isatty():
        yield SILENT
        return
    from distill.cli.progress_bars import progress_bars  # rich only costs on a terminal

    with progress_bars() as progress:
        yield progress


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
    """The table of built images on stdout: rich on a terminal, aligned text otherwise."""
    header = ("IMAGE", "PLATFORM", "DIGEST", "COMPRESSED", "UNCOMPRESSED")
    cells = [
        (row.name, row.platform, row.digest, human_size(row.compressed),
         human_size(row.uncompressed))
        for row in rows
    ]
    if sys.stdout.isatty():
        from distill.cli.progress_bars import print_table

        print_table(header, cells, right_aligned=(3, 4))
        return
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    for line in [header, *cells]:
        left = [cell.ljust(width) for cell, width in zip(line[:3], widths, strict=False)]
        right = [cell.rjust(width) for cell, width in zip(line[3:], widths[3:], strict=False)]
        sys.stdout.write("  ".join(left + right).rstrip() + "\n")
