"""HTTP/1.1 on one socket: requests with fixed or chunked bodies, streamed responses.

distill speaks HTTP to two kinds of peers on the path of a rebuild or a push:
the Docker engine on its unix socket and a registry. Both start a new
process every time, so what the client costs to import is paid on every
command: httpx (with httpcore, h11, anyio, certifi) costs about 70 ms, and
:mod:`http.client` about 15 ms because it parses headers with :mod:`email`.
This module needs :mod:`socket` alone, and :mod:`ssl` only for an ``https``
peer (the caller makes the context); the syntax of message heads is
:mod:`.wire_syntax`'s.

One :class:`Connection` is one socket, kept alive between requests whose
responses were read to their end; a response left unread closes it, and the
next request opens a new one. It may go through an HTTP proxy: a ``CONNECT``
tunnel for TLS, requests in absolute form otherwise. Connection pools,
redirects, choosing a proxy and authentication belong to the callers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from distill.transports.wire_syntax import (
    CHUNK,
    Headers,
    ProtocolError,
    Reader,
    body_framing,
    read_headers,
    read_line,
    status_line,
)

if TYPE_CHECKING:
    import ssl

__all__ = ["Connection", "Headers", "ProtocolError", "Response", "TunnelError"]


class TunnelError(OSError):
    """The proxy answered ``CONNECT`` with ``status`` instead of opening the tunnel."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the proxy answered CONNECT with {status} {reason}".rstrip())
        self.status = status


class Response:
    """A status, its headers, and a body read on demand (:meth:`read`, :meth:`readline`)."""

    def __init__(self, connection: Connection, status: int, reason: str, headers: Headers,
                 *, length: int | None, chunked: bool, keep_alive: bool = True) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._connection: Connection | None = connection
        self._length = length  # bytes left of a fixed-length body; None: chunked or to EOF
        self._chunked = chunked
        self._chunk_left = 0
        self._done = length == 0
        self._until_close = length is None and not chunked
        self._keep_alive = keep_alive
        self._pending = b""

    @property
    def complete(self) -> bool:
        """Whether the body has been read to its end."""
        return self._done and not self._pending

    def read(self, amount: int = -1) -> bytes:
        """Up to ``amount`` bytes of the body (all that is left when negative); b"" at its end."""
        if amount < 0:
            parts = [self._take(len(self._pending))] if self._pending else []
            while piece := self._next_piece(CHUNK):
                parts.append(piece)
            return b"".join(parts)
        if not self._pending:
            self._pending = self._next_piece(amount)
        return self._take(amount)

    def readline(self) -> bytes:
        """The body up to and with the next newline (or to its end)."""
        while b"\n" not in self._pending:
            piece = self._next_piece(CHUNK)
            if not piece:
                break
            self._pending += piece
        end = self._pending.find(b"\n") + 1 or len(self._pending)
        return self._take(end)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def iter_bytes(self, size: int = CHUNK) -> Iterator[bytes]:
        """The rest of the body in pieces of at most ``size`` bytes."""
        while piece := self.read(size):
            yield piece

    def close(self) -> None:
        """Let go of the connection: kept alive when the body was read, else closed."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.release(self, reusable=self.complete and not self._until_close
                               and self._keep_alive)

    def __enter__(self) -> Response:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _take(self, amount: int) -> bytes:
        data, self._pending = self._pending[:amount], self._pending[amount:]
        return data

    def _next_piece(self, amount: int) -> bytes:
        if self._done or self._connection is None:
            return b""
        reader = self._connection.reader
        if reader is None:
            raise ProtocolError("the connection closed in the middle of a response")
        if self._chunked:
            return self._next_chunk_piece(reader, amount)
        if self._length is None:  # the body ends with the connection
            piece = reader.read1(amount)
            self._done = not piece
            return piece
        piece = reader.read1(min(amount, self._length))
        if not piece:
            raise ProtocolError(f"the body ended {self._length} bytes short")
        self._length -= len(piece)
        self._done = self._length == 0
        return piece

    def _next_chunk_piece(self, reader: Reader, amount: int) -> bytes:
        if self._chunk_left == 0:
            size_line = read_line(reader)
            try:
                self._chunk_left = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size_line[:40]!r}") from None
            if self._chunk_left == 0:
                while read_line(reader) not in (b"\r\n", b"\n"):  # trailers
                    pass
                self._done = True
                return b""
        piece = reader.read1(min(amount, self._chunk_left))
        if not piece:
            raise ProtocolError("the body ended inside a chunk")
        self._chunk_left -= len(piece)
        if self._chunk_left == 0 and read_line(reader) not in (b"\r\n", b"\n"):
            raise ProtocolError("a chunk did not end with CRLF")
        return piece


class Connection:
    """HTTP/1.1 to one peer: ``unix_path``, or ``host``:``port`` (with TLS when ``tls`` is
    given), through the HTTP proxy at ``proxy`` (host, port) if one is given, which gets
    ``proxy_headers`` (``Proxy-Authorization``). The socket opens on the first request
    (or :meth:`connect`) and is kept alive after it."""

    def __init__(self, *, host: str = "localhost", port: int = 80,
                 tls: ssl.SSLContext | None = None, unix_path: str | None = None,
                 connect_timeout: float = 10.0, timeout: float = 60.0,
                 proxy: tuple[str, int] | None = None,
                 proxy_headers: Mapping[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.unix_path = unix_path
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.proxy = proxy
        self.proxy_headers = dict(proxy_headers or {})
        self._sock: socket.socket | None = None
        self.reader: Reader | None = None
        self._busy: Response | None = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    @property
    def host_header(self) -> str:
        """The ``Host`` header this connection sends."""
        default = 443 if self.tls is not None else 80
        return self._name if self.unix_path or self.port == default else self._authority

    @property
    def _name(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address

    @property
    def _authority(self) -> str:
        return f"{self._name}:{self.port}"

    @property
    def is_open(self) -> bool:
        """Whether the socket is open (kept alive, or busy with a response)."""
        return self._sock is not None

    def connect(self) -> None:
        """Open the socket now (TCP, the proxy's tunnel, TLS) unless it is open."""
        if self._sock is None:
            try:
                self._connect()
            except BaseException:
                self.close()
                raise

    def request(self, method: str, target: str, *, headers: Mapping[str, str] | None = None,
                body: bytes | Iterable[bytes] | None = None) -> Response:
        """Send a request and read the response's status and headers.

        ``body`` as bytes goes with a Content-Length, as an iterable chunked (or as
        it is when ``headers`` give its Content-Length). A connection the peer
        closed while idle is opened again once, for a request whose body can be
        sent again (bytes or none).
        """
        if self._busy is not None:  # the previous answer was not closed: start afresh
            self._busy.close()
        retry = self._sock is not None and not _is_stream(body)
        try:
            return self._exchange(method, target, headers or {}, body)
        except (ConnectionError, ProtocolError) as exc:
            if not retry or not _stale_connection(exc):
                self.close()
                raise
            self.close()
            return self._exchange(method, target, headers or {}, body)
        except BaseException:
            self.close()
            raise

    def release(self, response: Response, *, reusable: bool) -> None:
        """Called by :meth:`Response.close`: keep the socket for the next request, or close it."""
        if self._busy is response:
            self._busy = None
            if not reusable or (response.headers.get("Connection") or "").lower() == "close":
                self.close()

    def close(self) -> None:
        """Close the socket (the next request opens a new one)."""
        sock, reader, self._sock, self.reader = self._sock, self.reader, None, None
        self._busy = None
        if reader is not None:
            reader.close()
        if sock is not None:
            sock.close()

    def _exchange(self, method: str, target: str, headers: Mapping[str, str],
                  body: bytes | Iterable[bytes] | None) -> Response:
        sock = self._sock or self._connect()
        if self.proxy is not None and self.tls is None:  # a request in absolute form
            target = f"http://{self.host_header}{target}"
            headers = {**self.proxy_headers, **headers}
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        names = {name.lower() for name in headers}
        head += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
        chunked = _is_stream(body) and "content-length" not in names
        if isinstance(body, bytes | bytearray | memoryview):
            if "content-length" not in names:
                head.append(f"Content-Length: {len(body)}")
        elif chunked:
            head.append("Transfer-Encoding: chunked")
        elif body is None and method in ("POST", "PUT", "PATCH") and "content-length" not in names:
            head.append("Content-Length: 0")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if isinstance(body, bytes | bytearray | memoryview):
            sock.sendall(body)
        elif body is not None:
            for piece in body:
                if piece:
                    sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        response = self._read_head(method)
        self._busy = response
        return response

    def _connect(self) -> socket.socket:
        if self.unix_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.connect_timeout)
                sock.connect(self.unix_path)
            except BaseException:
                sock.close()
                raise
        else:
            host, port = self.proxy or (self.host, self.port)
            # getaddrinfo takes bytes too (typeshed only lists str)
            sock = socket.create_connection((_ascii(host), port),  # type: ignore[arg-type]
                                            timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                if self.proxy is not None and self.tls is not None:
                    self._tunnel(sock)
                if self.tls is not None:
                    sock = self.tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        sock.settimeout(self.timeout)
        self._sock, self.reader = sock, Reader(sock)
        return sock

    def _tunnel(self, sock: socket.socket) -> None:
        """Ask the proxy for a tunnel to host:port; TLS then goes through it."""
        head = [f"CONNECT {self._authority} HTTP/1.1", f"Host: {self._authority}",
                *(f"{name}: {value}" for name, value in self.proxy_headers.items())]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        reader = Reader(sock, buffered=False)  # the TLS handshake reads what follows
        status, reason = status_line(read_line(reader, first=True))
        read_headers(reader)
        if not 200 <= status < 300:
            raise TunnelError(status, reason)

    def _read_head(self, method: str) -> Response:
        assert self.reader is not None
        while True:
            line = read_line(self.reader, first=True)
            status, reason = status_line(line)
            headers = read_headers(self.reader)
            if status != 100 and not (101 < status < 200):
                break  # 1xx answers before the real one are skipped
        length, chunked = body_framing(method, status, headers)
        # HTTP/1.0 closes after each answer unless it says otherwise
        keep_alive = not line.startswith(b"HTTP/1.0") or \
            "keep-alive" in (headers.get("Connection") or "").lower()
        return Response(self, status, reason, headers, length=length, chunked=chunked,
                        keep_alive=keep_alive)


def _ascii(host: str) -> str | bytes:
    """``host`` as bytes when it is ASCII: getaddrinfo encodes a str with the idna codec,
    whose import (with unicodedata and stringprep) costs a millisecond per process."""
    return host.encode("ascii") if host.isascii() else host


def _is_stream(body: object) -> bool:
    return body is not None and not isinstance(body, bytes | bytearray | memoryview)


def _stale_connection(exc: BaseException) -> bool:
    """A kept-alive socket the peer had closed: nothing came back at all."""
    return isinstance(exc, ConnectionError) or "no status line" in str(exc)
