"""A real HTTP proxy on 127.0.0.1 for tests: ``CONNECT`` tunnels and absolute-form requests.

Every host name is reached on 127.0.0.1 (the port as asked), so a registry on the
loopback can be named ``registry.test:PORT`` and reached only through the proxy.
Bytes are forwarded as they are, both ways, after the first request's head:
a server that accepts absolute-form requests (Go's does) answers the rest.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Seen:
    """The first request of one client connection."""

    method: str
    target: str
    authorization: str | None


@dataclass
class HttpProxy:
    """Start with ``with HttpProxy() as proxy``; ``proxy.url`` is ``http://127.0.0.1:PORT``.

    ``authorization``: the ``Proxy-Authorization`` value required (407 without it).
    """

    authorization: str | None = None
    seen: list[Seen] = field(default_factory=list)
    _listener: socket.socket = field(init=False)
    _open: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HttpProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._open:
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._keep(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.append(sock)

    def _serve(self, client: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = client.recv(65536)
            if not piece:
                client.close()
                return
            data += piece
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        authorization = {k.lower(): v for k, v in fields.items()}.get("proxy-authorization")
        with self._lock:
            self.seen.append(Seen(method, target, authorization))
        if self.authorization is not None and authorization != self.authorization:
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                           b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            client.close()
            return
        port = int(target.rsplit(":", 1)[1]) if method == "CONNECT" else \
            (urlsplit(target).port or 80)
        upstream = socket.create_connection(("127.0.0.1", port))
        self._keep(upstream)
        if method == "CONNECT":
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            upstream.sendall(rest)
        else:
            upstream.sendall(data)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until ``source`` ends, then end ``sink``'s writes."""
    try:
        while piece := source.recv(65536):
            sink.sendall(piece)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass
