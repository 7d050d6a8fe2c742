"""A local snapshot archive: ``/<prefix>/<YYYYMMDDTHHMMSSZ>/<pool path>`` over folders.

Each snapshot is a folder ``<root>/<id>`` holding pool files. Asked for a time
stamp, the server answers from its last snapshot at or before it (as Debian's
and Ubuntu's snapshot archives do), directly, or 404 when there is none or the
file is not in it. ``log`` records each requested path.
"""

from __future__ import annotations

import http.server
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from support.local_http import QuietHandler, serving

_REQUEST = re.compile(r"^/archive/(?P<id>\d{8}T\d{6}Z)/(?P<rest>.+)$")


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        archive = self.server.archive
        archive.log.append(self.path)
        path = archive.resolve(self.path)
        if path is None:
            self.send_error(404)
            return
        self.send_body(200, path.read_bytes())


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    archive: SnapshotArchive


@dataclass
class SnapshotArchive:
    """Snapshots below ``root``; ``prefix`` is the URL prefix a ``snapshot:`` entry takes."""

    root: Path
    prefix: str = ""
    log: list[str] = field(default_factory=list)

    def add(self, snapshot: str, filename: str, data: bytes) -> None:
        """Put ``data`` at pool path ``filename`` in snapshot ``snapshot`` (made if new)."""
        target = self.root / snapshot / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def resolve(self, request: str) -> Path | None:
        """The file that answers ``request``, or None for 404."""
        match = _REQUEST.match(request)
        if match is None or ".." in match["rest"]:
            return None
        earlier = sorted(s.name for s in self.root.iterdir() if s.name <= match["id"])
        if not earlier:
            return None
        path = self.root / earlier[-1] / match["rest"]
        return path if path.is_file() else None


@contextmanager
def running_snapshot_archive(root: Path) -> Iterator[SnapshotArchive]:
    """Serve snapshots below ``root`` (made if missing) on 127.0.0.1."""
    root.mkdir(parents=True, exist_ok=True)
    archive = SnapshotArchive(root=root)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.archive = archive
    with serving(server) as origin:
        archive.prefix = f"{origin}/archive"
        yield archive
