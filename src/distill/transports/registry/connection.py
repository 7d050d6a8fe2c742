"""Requests to one registry host: the scheme, auth on challenge, statuses mapped to errors.

Loopback and ``--insecure-registry`` hosts may speak plain HTTP: the scheme
that worked last is tried first and a TLS failure switches once. A 401 is
answered through :class:`~.challenge.Authenticator` and the request sent again.
Transient failures (429, 5xx, resets, timeouts) raise :class:`~.retry.Retry`
for :func:`~.retry.retrying` to handle.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from urllib.parse import urljoin, urlsplit

from distill.errors import TransportError
from distill.transports.registry import known
from distill.transports.registry.challenge import Authenticator
from distill.transports.registry.http import Body, HttpClient, HttpError, Response, with_params
from distill.transports.registry.options import RegistryOptions
from distill.transports.registry.retry import Retry
from distill.transports.wire import ProtocolError, TunnelError

_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class Connection:
    """HTTP to one registry ``host``: requests with auth, the scheme, the request log."""

    def __init__(self, host: str, *, options: RegistryOptions, auth: Authenticator) -> None:
        self.host = host
        self.options = options
        self._auth = auth
        self._scheme, self._may_switch = _first_scheme(host, options)
        self._remembered = self._scheme if self._may_switch else None
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        """Every (method, path) sent, for callers that count round trips."""
        # a loopback host seen for the first time may speak plain HTTP: no CA store for it
        self._http = HttpClient(tls=lambda: options.ssl_context(host), timeout=options.timeout,
                                connections=options.parallel * 2, probe=self._scheme is None)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def send(
        self, method: str, path: str, *, scopes: Sequence[str], ok: Sequence[int] = (200,),
        headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
        body: Body | None = None, missing: str | None = None,
    ) -> Response:
        with self.stream(method, path, scopes=scopes, ok=ok, headers=headers, params=params,
                          body=body, missing=missing) as response:
            response.read()
            return response

    def stream(
        self, method: str, url: str, *, scopes: Sequence[str], ok: Sequence[int] = (200,),
        headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
        body: Body | None = None, missing: str | None = None,
    ) -> _ResponseContext:
        return _ResponseContext(self, method, url, scopes=scopes, ok=ok, headers=headers,
                                params=params, body=body, missing=missing)

    def open(self, method: str, url: str, *, scopes: Sequence[str],
              headers: dict[str, str] | None, params: dict[str, str] | None,
              body: Body | None) -> Response:
        """Send once (again after a 401 challenge); transient failures raise _Retry."""
        for _ in range(2):
            full = with_params(self._resolve(url), params or {})
            with self._lock:
                self.requests.append((method, urlsplit(full).path))
            try:
                response = self._http.request(
                    method, full, body=body,
                    headers={**(headers or {}), **self._auth.header(scopes)})
            except HttpError as exc:
                self._maybe_switch_scheme(exc)
                _check_tunnel(self.host, exc)
                raise Retry(str(exc), silent=exc.timed_out) from exc
            self._scheme_worked(response)
            if response.status_code != 401 or not self._auth.answer(response, scopes,
                                                                    http=self._http):
                return response
            response.close()
        return response

    def _resolve(self, url: str) -> str:
        if url.startswith("/"):
            return f"{self._scheme or 'https'}://{self.host}{url}"
        return url

    def location(self, response: Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise TransportError(f"{self.host} started an upload without a Location header")
        return urljoin(response.url, location)

    def _maybe_switch_scheme(self, exc: HttpError) -> None:
        """Move to the other scheme when the first guess for a plain-HTTP-allowed host failed."""
        if _certificate_failure(exc):
            ca_hint = f"{self.options.certs_dir}/{self.host}/ca.crt"
            raise TransportError(
                f"TLS verification of {self.host} failed; trust its CA with --ca-file, "
                f"DISTILL_REGISTRY_CA or {ca_hint}"
            ) from exc
        if not self._may_switch:
            return
        if self._scheme != "http" and exc.connecting and _tls_failure(exc):
            self._switch("http")
            raise Retry("the registry speaks plain HTTP", delay=0) from exc
        if self._scheme == "http" and not exc.connecting and _answered_wrongly(exc):
            self._switch("https")
            raise Retry("the registry speaks HTTPS", delay=0) from exc

    def _switch(self, scheme: str) -> None:
        with self._lock:
            self._scheme, self._may_switch = scheme, False

    def _scheme_worked(self, response: Response) -> None:
        """Settle the scheme after an answer (a TLS server's 400 to plain HTTP switches)."""
        if self._scheme is None:
            self._scheme = "https"
        if self._scheme == "http" and self._may_switch and response.status_code == 400:
            said = response.read() if response.method != "HEAD" else self._said_to_get()
            if b"HTTPS" in said:
                response.close()
                self._switch("https")
                raise Retry("the registry speaks HTTPS", delay=0)
        if self._remembered != self._scheme and self.options.allows_plain_http(self.host):
            self._remembered = self._scheme
            known.remember_scheme(self.host, self._scheme)


    def _said_to_get(self) -> bytes:
        """The body of a plain-HTTP ``GET /v2/``: a 400 to a HEAD has none to tell why."""
        try:
            with self._http.request("GET", f"http://{self.host}/v2/") as answer:
                return answer.read()
        except HttpError:
            return b""


class _ResponseContext:
    """Open a request with auth, map statuses to errors or retries, close after use."""

    def __init__(self, client: Connection, method: str, url: str, *,
                 scopes: Sequence[str], ok: Sequence[int], headers: dict[str, str] | None,
                 params: dict[str, str] | None,
                 body: Body | None, missing: str | None) -> None:
        self._client, self._method, self._url = client, method, url
        self._scopes, self._ok, self._missing = scopes, ok, missing
        self._headers, self._params, self._body = headers, params, body
        self._response: Response | None = None

    def __enter__(self) -> Response:
        response = self._client.open(self._method, self._url, scopes=self._scopes,
                                      headers=self._headers, params=self._params, body=self._body)
        self._response = response
        try:
            _check_status(self._client.host, response, ok=self._ok, missing=self._missing,
                          scopes=self._scopes)
        except BaseException:
            response.close()
            raise
        return response

    def __exit__(self, *exc: object) -> None:
        if self._response is not None:
            self._response.close()


def _check_status(host: str, response: Response, *, ok: Sequence[int],
                  missing: str | None, scopes: Sequence[str]) -> None:
    status = response.status_code
    if status in ok:
        return
    if status in _RETRY_STATUS:
        response.read()
        raise Retry(f"{host} answered {status}", delay=_retry_after(response))
    what = f"{response.method} {response.path}"
    if status == 401:
        raise TransportError(f"{host} refused {what} (401); run `distill login {host}`")
    if status == 403:
        wanted = " and ".join(scopes) or "access"
        raise TransportError(f"{host} denies {wanted} (403); check that your account has it")
    if status == 404:
        raise TransportError(missing or f"{host}: {what} was not found (404)")
    response.read()
    raise TransportError(f"{host}: {what} failed with {status}: {_error_text(response)}")


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After") or ""
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_text(response: Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or "no detail"
    except (ValueError, AttributeError):
        return " ".join(response.text.split())[:200] or "no detail"


def _first_scheme(host: str, options: RegistryOptions) -> tuple[str | None, bool]:
    """The scheme to try first and whether a failure may switch to the other.

    HTTPS only for ordinary hosts. For loopback and insecure-marked hosts: the
    scheme that worked last time, else HTTP when the user marked the host
    insecure, else HTTPS (None) with plain HTTP after a TLS failure.
    """
    if not options.allows_plain_http(host):
        return "https", False
    last = known.last_scheme(host)
    if last is not None:
        return last, True
    return ("http" if host in options.insecure_hosts else None), True


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _certificate_failure(exc: BaseException) -> bool:
    ssl = sys.modules.get("ssl")  # not imported: no TLS was spoken
    return ssl is not None and (
        any(isinstance(e, ssl.SSLCertVerificationError) for e in _causes(exc))
        or "CERTIFICATE_VERIFY_FAILED" in str(exc)
    )


def _tls_failure(exc: BaseException) -> bool:
    ssl = sys.modules.get("ssl")
    return ssl is not None and (any(isinstance(e, ssl.SSLError) for e in _causes(exc))
                                or "SSL" in str(exc))


def _answered_wrongly(exc: BaseException) -> bool:
    """Plain HTTP to a TLS server: an answer that is no HTTP, or the connection cut."""
    return any(isinstance(e, ProtocolError | ConnectionResetError | ConnectionAbortedError
                          | BrokenPipeError) for e in _causes(exc))


def _check_tunnel(host: str, exc: HttpError) -> None:
    """A proxy that refuses the tunnel (407, 403...) is not asked again."""
    refused = next((e for e in _causes(exc) if isinstance(e, TunnelError)), None)
    if refused is not None and refused.status not in _RETRY_STATUS:
        raise TransportError(f"cannot reach {host}: {refused} (check HTTPS_PROXY and "
                             "NO_PROXY)") from exc
