"""httpx for the registry client, made cheap to start: every ``distill copy`` pays for it.

``import httpx`` also imports ``httpx._main``, httpx's own command-line tool
(rich, pygments, click's types...): about 40 ms of CPU that a library never
uses. httpx falls back to a stub when that import fails, so it is hidden while
httpx is imported (and only then).

A verifying TLS context loads the system's CA store (about 35 ms); plain HTTP
to a loopback registry needs none, so :func:`open_client` makes the HTTPS
connection pool, and its context, on the first HTTPS request. When proxies are
set in the environment httpx's own transports are used (they honour them), with
the context made up front.
"""

from __future__ import annotations

import ssl
import sys
import threading
import urllib.request
from collections.abc import Callable

_HIDE_CLI = "httpx" not in sys.modules
if _HIDE_CLI:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
try:
    import httpx
finally:
    if _HIDE_CLI:
        del sys.modules["httpx._main"]

__all__ = ["httpx", "open_client"]


def open_client(*, tls: Callable[[], ssl.SSLContext], timeout: float, connections: int
                ) -> httpx.Client:
    """An httpx client following redirects, ``tls()`` called only when HTTPS is used."""
    limits = httpx.Limits(max_connections=connections)
    settings = {"timeout": httpx.Timeout(timeout), "follow_redirects": True,
                "headers": {"User-Agent": "distill"}}
    if urllib.request.getproxies():
        return httpx.Client(verify=tls(), limits=limits, **settings)  # type: ignore[arg-type]
    return httpx.Client(transport=_PerScheme(tls=tls, limits=limits),
                        **settings)  # type: ignore[arg-type]


class _PerScheme(httpx.BaseTransport):
    """One keep-alive connection pool per URL scheme, each made on its first request."""

    def __init__(self, *, tls: Callable[[], ssl.SSLContext], limits: httpx.Limits) -> None:
        self._tls = tls
        self._limits = limits
        self._lock = threading.Lock()
        self._pools: dict[str, httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._pool(request.url.scheme).handle_request(request)

    def _pool(self, scheme: str) -> httpx.HTTPTransport:
        with self._lock:
            pool = self._pools.get(scheme)
            if pool is None:
                # an http:// pool never speaks TLS; its context still verifies, trusting none
                context = self._tls() if scheme == "https" else \
                    ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                pool = self._pools[scheme] = httpx.HTTPTransport(verify=context,
                                                                 limits=self._limits)
            return pool

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
