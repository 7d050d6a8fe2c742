"""HTTP/1.1 on one socket: requests with fixed or chunked bodies, streamed responses.

distill speaks HTTP to two kinds of peers on the path of a rebuild or a push:
the Docker engine on its unix socket and a registry. Both start a new
process every time, so what the client costs to import is paid on every
command: httpx (with httpcore, h11, anyio, certifi) costs about 70 ms, and
:mod:`http.client` about 15 ms because it parses headers with :mod:`email`.
This module needs :mod:`socket` alone, and :mod:`ssl` only for an ``https``
peer (the caller makes the context).

One :class:`Connection` is one socket, kept alive between requests whose
responses were read to their end; a response left unread closes it, and the
next request opens a new one. Connection pools, redirects, proxies and
authentication belong to the callers.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

_MAX_LINE = 65536
_MAX_HEADERS = 200
_CHUNK = 1 << 20


class ProtocolError(OSError):
    """The peer broke HTTP/1.1: a bad status line or header, or a body cut short."""


class Headers:
    """Response headers: names case-insensitive, repeated names kept in order."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = list(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        wanted = name.lower()
        for key, value in self._items:
            if key.lower() == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in the order received."""
        wanted = name.lower()
        return [value for key, value in self._items if key.lower() == wanted]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value), in the order received."""
        return list(self._items)


class Response:
    """A status, its headers, and a body read on demand (:meth:`read`, :meth:`readline`)."""

    def __init__(self, connection: Connection, status: int, reason: str, headers: Headers,
                 *, length: int | None, chunked: bool) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._connection: Connection | None = connection
        self._length = length  # bytes left of a fixed-length body; None: chunked or to EOF
        self._chunked = chunked
        self._chunk_left = 0
        self._done = length == 0
        self._until_close = length is None and not chunked
        self._pending = b""

    @property
    def complete(self) -> bool:
        """Whether the body has been read to its end."""
        return self._done and not self._pending

    def read(self, amount: int = -1) -> bytes:
        """Up to ``amount`` bytes of the body (all that is left when negative); b"" at its end."""
        if amount < 0:
            parts = [self._take(len(self._pending))] if self._pending else []
            while piece := self._next_piece(_CHUNK):
                parts.append(piece)
            return b"".join(parts)
        if not self._pending:
            self._pending = self._next_piece(amount)
        return self._take(amount)

    def readline(self) -> bytes:
        """The body up to and with the next newline (or to its end)."""
        while b"\n" not in self._pending:
            piece = self._next_piece(_CHUNK)
            if not piece:
                break
            self._pending += piece
        end = self._pending.find(b"\n") + 1 or len(self._pending)
        return self._take(end)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def iter_bytes(self, size: int = _CHUNK) -> Iterator[bytes]:
        """The rest of the body in pieces of at most ``size`` bytes."""
        while piece := self.read(size):
            yield piece

    def close(self) -> None:
        """Let go of the connection: kept alive when the body was read, else closed."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.release(self, reusable=self.complete and not self._until_close)

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

    def _next_chunk_piece(self, reader: _Reader, amount: int) -> bytes:
        if self._chunk_left == 0:
            size_line = _read_line(reader)
            try:
                self._chunk_left = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size_line[:40]!r}") from None
            if self._chunk_left == 0:
                while _read_line(reader) not in (b"\r\n", b"\n"):  # trailers
                    pass
                self._done = True
                return b""
        piece = reader.read1(min(amount, self._chunk_left))
        if not piece:
            raise ProtocolError("the body ended inside a chunk")
        self._chunk_left -= len(piece)
        if self._chunk_left == 0 and _read_line(reader) not in (b"\r\n", b"\n"):
            raise ProtocolError("a chunk did not end with CRLF")
        return piece


class _Reader:
    """What :class:`Response` reads from: ``read1`` and ``readline`` of a buffered socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._file = io.BufferedReader(socket.SocketIO(sock, "rb"), _CHUNK)

    def read1(self, amount: int) -> bytes:
        return self._file.read1(amount)

    def readline(self, limit: int) -> bytes:
        return self._file.readline(limit)

    def close(self) -> None:
        self._file.close()


class Connection:
    """HTTP/1.1 to one peer: ``unix_path``, or ``host``:``port`` (with TLS when ``tls`` is
    given). The socket opens on the first request and is kept alive after it."""

    def __init__(self, *, host: str = "localhost", port: int = 80,
                 tls: ssl.SSLContext | None = None, unix_path: str | None = None,
                 connect_timeout: float = 10.0, timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.unix_path = unix_path
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self.reader: _Reader | None = None
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
        return self.host if self.unix_path or self.port == default else f"{self.host}:{self.port}"

    def request(self, method: str, target: str, *, headers: Mapping[str, str] | None = None,
                body: bytes | Iterable[bytes] | None = None) -> Response:
        """Send a request and read the response's status and headers.

        ``body`` as bytes goes with a Content-Length, as an iterable chunked. A
        connection the peer closed while idle is opened again once, for a
        request whose body can be sent again (bytes or none).
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
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        names = {name.lower() for name in headers}
        head += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
        if isinstance(body, bytes | bytearray | memoryview):
            if "content-length" not in names:
                head.append(f"Content-Length: {len(body)}")
        elif body is not None:
            head.append("Transfer-Encoding: chunked")
        elif method in ("POST", "PUT", "PATCH") and "content-length" not in names:
            head.append("Content-Length: 0")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if isinstance(body, bytes | bytearray | memoryview):
            sock.sendall(body)
        elif body is not None:
            for piece in body:
                if piece:
                    sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
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
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_hostname=self.host)
                except BaseException:
                    sock.close()
                    raise
        sock.settimeout(self.timeout)
        self._sock, self.reader = sock, _Reader(sock)
        return sock

    def _read_head(self, method: str) -> Response:
        assert self.reader is not None
        while True:
            status, reason = _status_line(_read_line(self.reader, first=True))
            headers = _read_headers(self.reader)
            if status != 100 and not (101 < status < 200):
                break  # 1xx answers before the real one are skipped
        length, chunked = _body_framing(method, status, headers)
        return Response(self, status, reason, headers, length=length, chunked=chunked)


def _is_stream(body: object) -> bool:
    return body is not None and not isinstance(body, bytes | bytearray | memoryview)


def _stale_connection(exc: BaseException) -> bool:
    """A kept-alive socket the peer had closed: nothing came back at all."""
    return isinstance(exc, ConnectionError) or "no status line" in str(exc)


def _read_line(reader: _Reader, *, first: bool = False) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise ProtocolError("a header line longer than 64 KiB")
    if not line:
        raise ProtocolError("the connection closed with no status line" if first else
                            "the connection closed in the middle of a response")
    return line


def _status_line(line: bytes) -> tuple[int, str]:
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {line[:60]!r}")
    return int(parts[1]), parts[2] if len(parts) > 2 else ""


def _read_headers(reader: _Reader) -> Headers:
    items: list[tuple[str, str]] = []
    while (line := _read_line(reader)) not in (b"\r\n", b"\n"):
        if len(items) >= _MAX_HEADERS:
            raise ProtocolError(f"more than {_MAX_HEADERS} headers")
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"bad header line {line[:60]!r}")
        items.append((name, value.strip()))
    return Headers(items)


def _body_framing(method: str, status: int, headers: Headers) -> tuple[int | None, bool]:
    """(bytes of a fixed-length body or None, whether it is chunked), as RFC 9112 6.3 says."""
    if method == "HEAD" or status in (204, 304):
        return 0, False
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return None, True
    length = headers.get("Content-Length")
    if length is None:
        return None, False
    if not length.strip().isdigit():
        raise ProtocolError(f"bad Content-Length {length!r}")
    return int(length), False
