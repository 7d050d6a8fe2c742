"""Kept-alive connections per origin (scheme, host, port), shared by the threads of a push
or pull.

A connection is taken for one request and given back when its response was read
to the end; at most ``keep`` idle ones are kept per origin, so the blobs that
move in parallel reuse their sockets. The TLS context is made on the first
``https`` connection: plain HTTP to a loopback registry never loads the CA
store (about 25 ms of CPU), nor imports :mod:`ssl`.

With ``probe``, the host may well speak plain HTTP (a loopback registry seen
for the first time): the first handshake is made with a context that trusts no
CA, so the CA store is not loaded for a server that answers it with plain HTTP.
A server that speaks TLS sends a certificate that context cannot verify; the
handshake is then made again with ``tls()``'s context.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from distill.transports.registry.proxies import Proxies
from distill.transports.wire import Connection

if TYPE_CHECKING:
    import ssl

Origin = tuple[str, str, int]
"""(scheme, host, port): the host lowercase, an IPv6 address without brackets."""


class ConnectError(OSError):
    """No connection to the origin (TCP, the proxy's tunnel, the TLS handshake); the
    reason is the chained cause."""


class Pool:
    """Connections per origin; ``tls()`` makes the context for every ``https`` origin."""

    def __init__(self, *, tls: Callable[[], ssl.SSLContext], timeout: float, keep: int,
                 proxies: Proxies, probe: bool = False) -> None:
        self._tls = tls
        self._probing = probe
        self._timeout = timeout
        self._keep = keep
        self._proxies = proxies
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[Connection]] = {}

    def take(self, origin: Origin, *, fresh: bool = False) -> tuple[Connection, bool]:
        """A connected connection to ``origin`` and whether it was kept from an earlier
        request (``fresh``: a new one); raises :class:`ConnectError`."""
        if not fresh:
            with self._lock:
                idle = self._idle.get(origin)
                if idle:
                    return idle.pop(), True
        scheme, host, port = origin
        probing = scheme == "https" and self._probing
        proxy = self._proxies.for_origin(scheme, host, port)
        connection = Connection(
            host=host, port=port,
            tls=(_trusting_none() if probing else self._tls_context()) if scheme == "https"
            else None,
            connect_timeout=self._timeout, timeout=self._timeout,
            proxy=(proxy.host, proxy.port) if proxy else None,
            proxy_headers=proxy.headers if proxy else None,
        )
        try:
            connection.connect()
        except OSError as exc:
            if probing and _unverified(exc):  # it speaks TLS: now with the CA store
                self._probing = False
                return self.take(origin, fresh=True)
            raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return connection, False

    def give_back(self, origin: Origin, connection: Connection) -> None:
        """Keep ``connection`` for the next request to ``origin`` if it is still open."""
        if connection.is_open:
            with self._lock:
                idle = self._idle.setdefault(origin, [])
                if len(idle) < self._keep:
                    idle.append(connection)
                    return
        connection.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = self._tls()
            return self._context


def _trusting_none() -> ssl.SSLContext:
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, with no CA to verify against


def _unverified(exc: OSError) -> bool:
    import ssl

    return isinstance(exc, ssl.SSLCertVerificationError)
