"""The Docker engine's API on its unix socket, over :mod:`distill.transports.wire`.

The engine sink is on the path of every ``-o docker-daemon:`` build, so its
client must cost next to nothing to import: httpx costs about 70 ms, and even
:mod:`http.client` about 15 ms (it parses headers with :mod:`email`).
:class:`EngineClient` keeps one connection alive for its requests. Clients that
already use httpx for other reasons (``distill debug``) keep it
(:func:`distill.transports.docker_daemon.open_client`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from distill.transports.wire import Connection, ProtocolError, Response

CONNECT_TIMEOUT = 10.0
IO_TIMEOUT = 900.0
"""Loading a large image can keep a request open for minutes."""

HTTPError = (OSError,)
"""What a request raises when the engine cannot be reached or answers wrongly."""


class StatusError(ProtocolError):
    """The engine answered with an error status (see :meth:`EngineResponse.raise_for_status`)."""


@dataclass(frozen=True)
class EngineResponse:
    """A whole response: status and body."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        """Raise :class:`StatusError` unless the status is 2xx."""
        if not 200 <= self.status_code < 300:
            raise StatusError(f"HTTP {self.status_code}: {' '.join(self.text.split())[:200]}")


class EngineClient:
    """Requests to the engine at the unix socket ``path``, over one kept-alive connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection = Connection(unix_path=str(path), connect_timeout=CONNECT_TIMEOUT,
                                      timeout=IO_TIMEOUT)

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def get(self, url: str, *, params: Mapping[str, str] | None = None) -> EngineResponse:
        """``GET url``, the whole body read."""
        return self.request("GET", url, params=params)

    def delete(self, url: str, *, params: Mapping[str, str] | None = None) -> EngineResponse:
        """``DELETE url``, the whole body read."""
        return self.request("DELETE", url, params=params)

    def request(self, method: str, url: str, *,
                params: Mapping[str, str] | None = None) -> EngineResponse:
        """A request without a body; the whole response read."""
        with self.stream(method, url, params=params) as response:
            return EngineResponse(response.status, response.read())

    def request_json(self, method: str, url: str, *, body: Any,
                     params: Mapping[str, str] | None = None) -> EngineResponse:
        """A request whose body is ``body`` as JSON; the whole response read."""
        with self._connection.request(method, _target(url, params),
                                      body=json.dumps(body).encode(),
                                      headers={"Content-Type": "application/json"}) as response:
            return EngineResponse(response.status, response.read())

    @contextlib.contextmanager
    def stream(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
               headers: Mapping[str, str] | None = None,
               body: Iterable[bytes] | None = None) -> Iterator[Response]:
        """A request whose body (if any) is sent chunked as ``body`` yields it; the response
        is read by the caller (``read``, ``readline``) and closed on leaving."""
        response = self._connection.request(method, _target(url, params), headers=headers,
                                            body=body)
        try:
            yield response
        finally:
            response.close()


def _target(url: str, params: Mapping[str, str] | None) -> str:
    return f"{url}?{urlencode(params)}" if params else url
