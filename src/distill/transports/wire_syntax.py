"""HTTP/1.1 message heads for :mod:`distill.transports.wire`: the buffered reader over the
socket, status lines, header fields and how a body is framed (RFC 9112)."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterable

MAX_LINE = 65536
MAX_HEADERS = 200
CHUNK = 1 << 20


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


class Reader:
    """What a response is read from: ``read1`` and ``readline`` of a buffered socket."""

    def __init__(self, sock: socket.socket, *, buffered: bool = True) -> None:
        # unbuffered: reads byte by byte, so nothing past the last line is taken
        self._file = io.BufferedReader(socket.SocketIO(sock, "rb"), CHUNK if buffered else 1)

    def read1(self, amount: int) -> bytes:
        """Up to ``amount`` bytes, with at most one read of the socket."""
        return self._file.read1(amount)

    def readline(self, limit: int) -> bytes:
        """The next line, at most ``limit`` bytes."""
        return self._file.readline(limit)

    def close(self) -> None:
        """Let go of the socket's file (the socket itself stays open)."""
        self._file.close()


def read_line(reader: Reader, *, first: bool = False) -> bytes:
    """One line of a head (a status line when ``first``), with its line end."""
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ProtocolError("a header line longer than 64 KiB")
    if not line:
        raise ProtocolError("the connection closed with no status line" if first else
                            "the connection closed in the middle of a response")
    return line


def status_line(line: bytes) -> tuple[int, str]:
    """The status code and reason of a status line."""
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {line[:60]!r}")
    return int(parts[1]), parts[2] if len(parts) > 2 else ""


def read_headers(reader: Reader) -> Headers:
    """The header fields up to the blank line that ends a head."""
    items: list[tuple[str, str]] = []
    while (line := read_line(reader)) not in (b"\r\n", b"\n"):
        if len(items) >= MAX_HEADERS:
            raise ProtocolError(f"more than {MAX_HEADERS} headers")
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"bad header line {line[:60]!r}")
        items.append((name, value.strip()))
    return Headers(items)


def body_framing(method: str, status: int, headers: Headers) -> tuple[int | None, bool]:
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
