"""Terminal output: sizes, the result table, progress bars only on a terminal."""

from __future__ import annotations

import io
import os
import pty
import select
import sys

import pytest

from distill.cli.console import ResultRow, human_size, print_results, progress_reporter
from distill.progress import SILENT

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
     (2 * 1024**2, "2.0 MiB"), (3 * 1024**3, "3.0 GiB"), (5000 * 1024**3, "5000.0 GiB")],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_result_table_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    print_results([
        ResultRow(name="hello:1.0", platform="linux/amd64", digest=DIGEST, compressed=1024,
                  uncompressed=3 * 1024**2),
        ResultRow(name="hello:1.0", platform="linux/arm64", digest=DIGEST, compressed=512,
                  uncompressed=1024**2),
    ])
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    lines = out.splitlines()
    assert lines[0].split() == ["IMAGE", "PLATFORM", "DIGEST", "COMPRESSED", "UNCOMPRESSED"]
    assert lines[1].split() == ["hello:1.0", "linux/amd64", DIGEST, "1.0", "KiB", "3.0", "MiB"]
    assert lines[2].split() == ["hello:1.0", "linux/arm64", DIGEST, "512", "B", "1.0", "MiB"]
    # The full digest is never cut, and the columns line up.
    assert lines[1].index(DIGEST) == lines[2].index(DIGEST) == lines[0].index("DIGEST")


def test_progress_is_silent_when_disabled_or_piped() -> None:
    assert not sys.stderr.isatty()
    with progress_reporter(True) as progress:
        assert progress is SILENT
    with progress_reporter(False) as progress:
        assert progress is SILENT


def _drain(fd: int) -> bytes:
    chunks: list[bytes] = []
    while select.select([fd], [], [], 0.2)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_progress_bars_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    leader, follower = pty.openpty()
    terminal = io.TextIOWrapper(os.fdopen(follower, "wb", buffering=0), encoding="utf-8",
                                write_through=True)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    try:
        with progress_reporter(True) as progress:
            assert progress is not SILENT
            task = progress.task("downloading base-files", total=1000)
            task.advance(400)
            unknown = progress.task("writing layer")
            unknown.advance(3)
            unknown.finish()
            task.finish()
        with progress_reporter(False) as quiet:
            assert quiet is SILENT
        written = _drain(leader).decode(errors="replace")
    finally:
        terminal.close()
        os.close(leader)
    assert "\x1b[" in written
    assert "downloading base-files" in written
