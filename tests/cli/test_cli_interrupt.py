"""Ctrl-C at the command line, pressed more than once: the first stops distill,
the later ones must not cut its clean-up short or print a traceback from the
interpreter's shutdown (``threading._shutdown`` joining download threads)."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


class _StallingHandler(http.server.BaseHTTPRequestHandler):
    """Sends the start of every file, then nothing until the test releases it; 404 after."""

    server: _StallingServer

    def do_GET(self) -> None:
        if self.server.released.is_set():
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"-----BEGIN PGP SIGNED MESSAGE-----\n")
        self.wfile.flush()
        self.server.stalled.set()
        self.server.released.wait(300)
        self.close_connection = True  # the rest never comes: the client sees a cut-off body

    def log_message(self, format: str, *args: object) -> None:
        pass


class _StallingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    stalled: threading.Event
    released: threading.Event


@dataclass
class StallingServer:
    """A Debian repository on 127.0.0.1 whose downloads hang until :meth:`release`."""

    server: _StallingServer
    thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        """The repository's base URL."""
        return f"http://127.0.0.1:{self.server.server_port}/debian"

    def wait_until_stalled(self, timeout: float) -> bool:
        """Whether a download has started and hangs."""
        return self.server.stalled.wait(timeout)

    def release(self) -> None:
        """End every hanging download (cut off) and answer 404 from now on."""
        self.server.released.set()


@pytest.fixture
def stalling_server() -> Iterator[StallingServer]:
    """A :class:`StallingServer`, shut down after the test."""
    server = _StallingServer(("127.0.0.1", 0), _StallingHandler)
    server.stalled, server.released = threading.Event(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield StallingServer(server=server, thread=thread)
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join()


class StderrReader:
    """Collects a process's stderr lines in a thread; tells when an ``error:`` line came."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self._stream = process.stderr
        self.lines: list[str] = []
        self.error_line = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line)
            if line.startswith("error:"):
                self.error_line.set()

    def text(self) -> str:
        """Everything read, once the stream has ended."""
        self._thread.join(60)
        return "".join(self.lines)


def test_repeated_ctrl_c_during_a_download_exits_130_without_a_traceback(
    distill_script: Path, stalling_server: StallingServer, tmp_path: Path
) -> None:
    config = tmp_path / "distill.yaml"
    config.write_text(
        "name: x\nrepositories:\n"
        f"  - {{url: '{stalling_server.url}', suites: [bookworm], components: [main]}}\n",
        encoding="utf-8")
    cache, output = tmp_path / "cache", tmp_path / "out"
    env = {**os.environ, "DISTILL_CACHE": str(cache)}
    env.pop("SOURCE_DATE_EPOCH", None)
    process = subprocess.Popen(
        [str(distill_script), "build", "-f", str(config), "-o", f"oci:{output}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stderr = StderrReader(process)
    try:
        if not stalling_server.wait_until_stalled(timeout=120):
            pytest.fail(f"distill never started downloading: {stderr.lines}")
        process.send_signal(signal.SIGINT)
        # Without a fix the second Ctrl-C breaks off the wait for the download thread,
        # distill reports and exits, and the interpreter waits for that thread again:
        # the third Ctrl-C lands in threading._shutdown.
        stderr.error_line.wait(1)
        process.send_signal(signal.SIGINT)
        stderr.error_line.wait(5)
        process.send_signal(signal.SIGINT)
        stalling_server.release()
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = stderr.text()
    assert process.returncode == 130, text
    assert "Traceback" not in text and "Exception ignored" not in text, text
    assert [line for line in text.splitlines() if line.strip()] == [
        "error: interrupted; nothing was written and the cache is intact"]
    assert not output.exists()
    assert [p for p in cache.rglob("*") if p.name.endswith(".tmp")] == []
