"""A local forwarding proxy in front of the host's Debian mirror that can misbehave.

It listens on 127.0.0.1 and forwards every GET to the same path on the
upstream origin (scheme and host of the mirror URI the host's apt sources
name), so a source ``<upstream>/debian`` is reached as ``<proxy>/debian``.
Chosen misbehaviours, set on the running proxy:

- ``no_by_hash``: answer 404 to every ``/by-hash/`` path (mirrors and caching
  proxies that do not serve by-hash);
- ``alter``: paths whose body is served with one byte changed (a mirror caught
  mid-sync), as many times as asked;
- ``fail``: path -> HTTP status to answer instead (a .deb the mirror lost).

``log`` records each requested path before it is answered.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from support.local_http import QuietHandler, serving


class _Handler(QuietHandler):
    server: _ProxyServer

    def do_GET(self) -> None:
        proxy = self.server.proxy
        with proxy.lock:
            proxy.log.append(self.path)
            status = proxy.fail.get(self.path)
            if status is None and proxy.no_by_hash and "/by-hash/" in self.path:
                status = 404
            altered = proxy.alter.get(self.path, 0) > 0
            if altered:
                proxy.alter[self.path] -= 1
        if status is not None:
            self.send_error(status)
            return
        response = proxy.client.get(proxy.upstream + self.path)
        body = response.content
        if altered and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self.send_body(response.status_code, body)


class _ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    proxy: MirrorProxy


@dataclass
class MirrorProxy:
    """A running proxy; ``origin`` is its ``http://127.0.0.1:PORT``."""

    upstream: str
    origin: str = ""
    no_by_hash: bool = False
    alter: dict[str, int] = field(default_factory=dict)
    """Path -> how many more times to serve it altered."""
    fail: dict[str, int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(
        follow_redirects=True, timeout=60, headers={"Accept-Encoding": "identity"}), repr=False)

    def uri(self, upstream_uri: str) -> str:
        """The proxy's URI for a base URI on the upstream origin."""
        return self.origin + urlsplit(upstream_uri).path.rstrip("/")

    def path_of(self, url: str) -> str:
        """The request path of a proxy ``url`` as the log records it."""
        return url.removeprefix(self.origin)


@contextmanager
def running_proxy(upstream_uri: str, *, no_by_hash: bool = False) -> Iterator[MirrorProxy]:
    """Run a :class:`MirrorProxy` in front of the origin of ``upstream_uri``."""
    parts = urlsplit(upstream_uri)
    proxy = MirrorProxy(upstream=f"{parts.scheme}://{parts.netloc}", no_by_hash=no_by_hash)
    server = _ProxyServer(("127.0.0.1", 0), _Handler)
    server.proxy = proxy
    try:
        with serving(server) as origin:
            proxy.origin = origin
            yield proxy
    finally:
        proxy.client.close()
