"""HTTP for the registry client on :mod:`distill.transports.wire`: URLs, redirects, the pool.

Every ``distill copy`` starts a new process, and httpx (with httpcore, h11,
certifi and ssl) cost about 60 ms of imports there, more than skopeo's whole
re-push.
:class:`HttpClient` needs :mod:`socket`, :mod:`urllib.parse` and, for
``https`` only, :mod:`ssl`. It follows redirects of GET and HEAD (a blob
download is often sent to storage on another host, which then gets no
``Authorization``) and reaches hosts through the proxies the environment names
(:mod:`.proxies`). Whatever fails on the network is an :class:`HttpError`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus, urlencode, urljoin, urlsplit

from distill.errors import TransportError
from distill.transports.registry.pool import ConnectError, Origin, Pool
from distill.transports.registry.proxies import Proxies
from distill.transports.wire import Headers, ProtocolError
from distill.transports.wire import Response as WireResponse

if TYPE_CHECKING:
    import ssl

Body = Callable[[], bytes | Iterator[bytes]]
"""Makes a request's body: called again when the request is sent again."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 10
_DRAIN = 1 << 16
"""A redirect's body up to this size is read, so its connection is kept."""


class HttpError(Exception):
    """A request failed on the network: no connection, no answer in time, a broken answer.

    ``connecting``: the connection could not be made (TCP, proxy, TLS handshake);
    ``timed_out``: the peer did not answer in time. The cause is chained.
    """

    def __init__(self, cause: OSError) -> None:
        reason = cause.__cause__ if isinstance(cause, ConnectError) else cause
        super().__init__(f"{type(reason).__name__}: {reason or 'connection closed'}")
        self.connecting = isinstance(cause, ConnectError)
        self.timed_out = isinstance(reason, TimeoutError)


class Response:
    """A response whose body is read on demand; :meth:`close` gives its connection back."""

    def __init__(self, method: str, url: str, raw: WireResponse,
                 give_back: Callable[[], None]) -> None:
        self.method = method
        self.url = url
        """The URL answered (after redirects)."""
        self.status_code = raw.status
        self.headers: Headers = raw.headers
        self._raw = raw
        self._give_back: Callable[[], None] | None = give_back
        self._content: bytes | None = None

    @property
    def path(self) -> str:
        """The path of :attr:`url`."""
        return urlsplit(self.url).path

    def read(self) -> bytes:
        """The whole body (read once, then kept)."""
        if self._content is None:
            try:
                self._content = self._raw.read()
            except OSError as exc:
                raise HttpError(exc) from exc
        return self._content

    @property
    def content(self) -> bytes:
        """The whole body."""
        return self.read()

    @property
    def text(self) -> str:
        """The body as text."""
        return self.read().decode(errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.read())

    def iter_bytes(self) -> Iterator[bytes]:
        """The body in pieces as they arrive."""
        pieces = self._raw.iter_bytes()
        while True:
            try:
                piece = next(pieces, b"")
            except OSError as exc:
                raise HttpError(exc) from exc
            if not piece:
                return
            yield piece

    def close(self) -> None:
        """Give the connection back (kept alive when the body was read to its end)."""
        self._raw.close()
        give_back, self._give_back = self._give_back, None
        if give_back is not None:
            give_back()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HttpClient:
    """Requests to any URL over kept-alive connections; ``tls()`` is called on the first
    ``https`` connection only (``probe``: see :mod:`.pool`)."""

    def __init__(self, *, tls: Callable[[], ssl.SSLContext], timeout: float, connections: int,
                 proxies: Proxies | None = None, probe: bool = False) -> None:
        self._pool = Pool(tls=tls, timeout=timeout, keep=connections, probe=probe,
                          proxies=proxies if proxies is not None else Proxies.from_environment())

    def close(self) -> None:
        """Close the kept connections."""
        self._pool.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                body: Body | None = None) -> Response:
        """Send ``method url`` and read the answer's head (GET and HEAD follow redirects);
        close the response, or read it to its end, to let its connection be reused."""
        sent = {"User-Agent": "distill", **(headers or {})}
        for _ in range(_MAX_REDIRECTS):
            response = self._send(method, url, sent, body)
            location = response.headers.get("Location")
            if method not in ("GET", "HEAD") or response.status_code not in _REDIRECTS \
                    or not location:
                return response
            _drain(response)
            target = urljoin(url, location)
            if _origin(target) != _origin(url):  # credentials stay with their host
                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
            url = target
        raise TransportError(f"{method} {url}: more than {_MAX_REDIRECTS} redirects")

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: Body | None
              ) -> Response:
        origin, target = _origin(url), _target(url)
        try:
            connection, kept = self._pool.take(origin)
        except OSError as exc:
            raise HttpError(exc) from exc
        try:
            content = _made(body)
            try:
                raw = connection.request(method, target, headers=headers, body=content)
            except (ConnectionError, ProtocolError) as exc:
                if not kept or isinstance(content, bytes | None) or not _stale(exc):
                    raise
                # the peer closed the kept connection: once more on a new one (wire does
                # that itself for a body it can send again)
                connection.close()
                connection, kept = self._pool.take(origin, fresh=True)
                raw = connection.request(method, target, headers=headers, body=_made(body))
        except _SourceError as exc:  # not the network's: the file being sent
            connection.close()
            raise exc.error from None
        except OSError as exc:
            connection.close()
            raise HttpError(exc) from exc
        except BaseException:
            connection.close()
            raise
        return Response(method, url, raw,
                        lambda: self._pool.give_back(origin, connection))


def with_params(url: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """``url`` with ``params`` in its query: its own parameters kept as they are written
    (an upload's state), but those ``params`` name replaced."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    if not pairs:
        return url
    base, _, fragment = url.partition("#")
    base, _, query = base.partition("?")
    names = {name for name, _ in pairs}
    kept = [part for part in query.split("&")
            if part and unquote_plus(part.split("=", 1)[0]) not in names]
    new_query = "&".join([*kept, urlencode(pairs)])
    return f"{base}?{new_query}" + (f"#{fragment}" if fragment else "")


def _origin(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"cannot request {url!r}: not an http(s) URL")
    try:
        port = parts.port
    except ValueError:
        raise TransportError(f"cannot request {url!r}: bad port") from None
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def _target(url: str) -> str:
    parts = urlsplit(url)
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~") or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _drain(response: Response) -> None:
    """Read a small body so the connection is kept, then close."""
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) <= _DRAIN:
        with contextlib.suppress(HttpError):  # a broken body: the connection is closed
            response.read()
    response.close()


class _SourceError(Exception):
    """An error of a body's source (a blob file), carried past the network's handling."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _made(body: Body | None) -> bytes | Iterator[bytes] | None:
    content = body() if body is not None else None
    return content if content is None or isinstance(content, bytes) else _source(content)


def _source(pieces: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from pieces
    except OSError as exc:
        raise _SourceError(exc) from exc


def _stale(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError) or "no status line" in str(exc)
