"""Blob requests sent elsewhere, as registries send downloads to their storage: GET and
HEAD follow a relative redirect and then one to another host, which never gets the
registry's credentials."""

from __future__ import annotations

import base64
import http.client
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distill.oci.digest import sha256_digest
from distill.oci.model import Image
from distill.transports.registry import Credentials, RegistryClient, RegistryOptions
from distill.transports.registry.pull import pull_with
from distill.transports.registry.push import push_with
from support.local_http import QuietHandler, serving

USER, PASSWORD = "front", "door"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class Recorder:
    """What each server saw: (server, method, path, Authorization header)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, str | None]] = []
        self.lock = threading.Lock()

    def add(self, server: str, handler: http.server.BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.seen.append((server, handler.command, handler.path,
                              handler.headers.get("Authorization")))


def _forward(handler: QuietHandler, upstream: str, path: str) -> None:
    """Answer ``handler``'s request with the registry's answer to it at ``path``."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else None
    headers = {k: v for k, v in handler.headers.items()
               if k.lower() not in ("connection", "authorization", "host")}
    connection = http.client.HTTPConnection(upstream, timeout=30)
    connection.request(handler.command, path, body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    kept = {k: v for k, v in answer.getheaders()
            if k.lower() not in ("connection", "transfer-encoding", "content-length")}
    connection.close()
    kept["Content-Length"] = answer.getheader("Content-Length") or str(len(data)) \
        if handler.command == "HEAD" else str(len(data))
    handler.send_body(answer.status, data, kept, head=handler.command == "HEAD")


def _storage(registry: str, recorder: Recorder) -> type[QuietHandler]:
    class Storage(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            recorder.add("storage", self)
            _forward(self, registry, self.path.removeprefix("/bucket"))

        do_HEAD = do_GET

    return Storage


def _front(registry: str, storage_port: int, recorder: Recorder) -> type[QuietHandler]:
    class Front(QuietHandler):
        """Basic auth; blob GET and HEAD go to /moved/... (relative), then to storage."""

        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            recorder.add("front", self)
            if self.headers.get("Authorization") != BASIC:
                self.send_body(401, b"", {"WWW-Authenticate": 'Basic realm="front"'},
                               head=self.command == "HEAD")
                return
            if self.path.startswith("/moved/"):
                where = f"http://localhost:{storage_port}/bucket{self.path[6:]}"
                self.send_body(307, b"to storage", {"Location": where},
                               head=self.command == "HEAD")
            elif self.command in ("GET", "HEAD") and "/blobs/sha256:" in self.path:
                self.send_body(307, b"", {"Location": f"/moved{self.path}"},
                               head=self.command == "HEAD")
            else:
                _forward(self, registry, self.path)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = _any

    return Front


@pytest.fixture
def fronted(plain_registry: Any) -> Iterator[tuple[str, Recorder]]:
    """``127.0.0.1:PORT`` of the front server, and what the servers saw."""
    recorder = Recorder()
    storage = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                              _storage(plain_registry.host, recorder))
    front = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), _front(plain_registry.host, storage.server_port, recorder))
    with serving(storage), serving(front) as url:
        yield url.removeprefix("http://"), recorder


def test_downloads_follow_redirects_and_keep_credentials_at_home(
    fronted: tuple[str, Recorder], image: Image, tmp_path: Path, isolated_cache: Path,
) -> None:
    host, recorder = fronted
    options = RegistryOptions(insecure_hosts=frozenset({host}))
    with RegistryClient(host, options=options,
                        credentials=Credentials(USER, PASSWORD)) as client:
        assert push_with(client, image, repository="moved/app", tag="1") == image.digest
        back = pull_with(client, repository="moved/app", reference="1",
                         work_dir=tmp_path / "back")
    assert back.digest == image.digest
    storage = [(method, path, auth) for server, method, path, auth in recorder.seen
               if server == "storage"]
    blobs = {layer.digest for layer in image.layers} | {sha256_digest(image.config_bytes)}
    assert {path.rsplit("/", 1)[1] for method, path, _ in storage if method == "GET"} == blobs
    assert {method for method, _, _ in storage} == {"GET", "HEAD"}
    assert all(auth is None for _, _, auth in storage)
    moved = [path for server, _, path, auth in recorder.seen
             if server == "front" and path.startswith("/moved/") and auth == BASIC]
    assert moved
