"""A small client of the OCI distribution protocol on httpx.

One :class:`RegistryClient` talks to one registry host. Every operation (a
manifest request, a whole blob upload, a whole download) is retried with
exponential backoff on 429 and 5xx answers (honouring ``Retry-After``),
connection resets and timeouts, until its retries or its budget of silence (see
:mod:`options`) run out. Authentication follows the registry's
``WWW-Authenticate`` challenge: HTTP basic, or a bearer token fetched from the
challenge's realm for the scopes the request needs.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from distill.errors import IntegrityError, TransportError
from distill.fsutil import atomic_writer
from distill.oci import media_types
from distill.oci.digest import sha256_digest
from distill.progress import Task
from distill.transports.registry import known
from distill.transports.registry.auth import Credentials, load_credentials, parse_challenge
from distill.transports.registry.options import RegistryOptions

ACCEPT_MANIFESTS = ", ".join(sorted(media_types.MANIFESTS | media_types.INDEXES))
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_IO_CHUNK = 1 << 20
T = TypeVar("T")


class _Retry(Exception):
    """A transient failure; ``delay`` is the registry's Retry-After, if it gave one.

    ``silent``: the registry did not answer in time (as opposed to answering badly).
    """

    def __init__(self, reason: str, delay: float | None = None, *, silent: bool = False) -> None:
        super().__init__(reason)
        self.delay = delay
        self.silent = silent


class _UseHttp(Exception):
    """HTTPS is not spoken by a host that may be reached over plain HTTP."""


@dataclass(frozen=True)
class Blob:
    """Content to upload: bytes in memory or a file."""

    digest: str
    size: int
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def of_bytes(cls, data: bytes) -> Blob:
        """A blob of ``data``."""
        return cls(digest=sha256_digest(data), size=len(data), data=data)

    def chunks(self, start: int, length: int, task: Task) -> Iterator[bytes]:
        """Yield bytes ``[start, start+length)``, advancing ``task``."""
        if self.data is not None:
            piece = self.data[start : start + length]
            task.advance(len(piece))
            yield piece
            return
        if self.path is None:
            raise TransportError(f"blob {self.digest} has neither bytes nor a file")
        with self.path.open("rb") as handle:
            handle.seek(start)
            left = length
            while left > 0 and (piece := handle.read(min(_IO_CHUNK, left))):
                left -= len(piece)
                task.advance(len(piece))
                yield piece


class RegistryClient:
    """The distribution API of one registry ``host`` (``name[:port]``)."""

    def __init__(
        self,
        host: str,
        *,
        options: RegistryOptions | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.host = host
        self.options = options or RegistryOptions.from_environment()
        self._credentials = credentials if credentials is not None else load_credentials(host)
        self._scheme, self._may_switch = _first_scheme(host, self.options)
        self._remembered = self._scheme if self._may_switch else None
        self._lock = threading.Lock()
        self._basic: str | None = None
        self._tokens: dict[str, str] = {}
        self._bearer: dict[str, str] | None = None
        self.requests: list[tuple[str, str]] = []
        """Every (method, path) sent, for callers that count round trips."""
        self._http = httpx.Client(
            verify=self.options.ssl_context(host),
            timeout=httpx.Timeout(self.options.timeout),
            follow_redirects=True,
            limits=httpx.Limits(max_connections=self.options.parallel * 2),
            headers={"User-Agent": "distill"},
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    # --- the API ---------------------------------------------------------

    def check_login(self) -> None:
        """``GET /v2/`` with the credentials; raise TransportError if they are refused."""
        self._retrying(f"login to {self.host}", lambda: self._send("GET", "/v2/", scopes=()))

    def blob_exists(self, repo: str, digest: str) -> bool:
        """Whether ``repo`` has blob ``digest``."""
        path = f"/v2/{repo}/blobs/{digest}"
        response = self._retrying(
            f"checking blob {digest} in {self.host}/{repo}",
            lambda: self._send("HEAD", path, scopes=_scopes(repo, "pull"), ok=(200, 404)),
        )
        return response.status_code == 200

    def manifest_digest(self, repo: str, reference: str) -> str | None:
        """The digest of manifest ``reference`` (tag or digest) in ``repo``, or None."""
        path = f"/v2/{repo}/manifests/{reference}"
        response = self._retrying(
            f"checking {self.host}/{repo}:{reference}",
            lambda: self._send("HEAD", path, scopes=_scopes(repo, "pull"), ok=(200, 404),
                               headers={"Accept": ACCEPT_MANIFESTS}),
        )
        if response.status_code == 404:
            return None
        found: str | None = response.headers.get("Docker-Content-Digest")
        return found

    def get_manifest(self, repo: str, reference: str) -> tuple[str, bytes]:
        """The media type and bytes of manifest ``reference``; a digest reference is checked."""
        path = f"/v2/{repo}/manifests/{reference}"
        response = self._retrying(
            f"reading {self.host}/{repo}:{reference}",
            lambda: self._send("GET", path, scopes=_scopes(repo, "pull"),
                               headers={"Accept": ACCEPT_MANIFESTS},
                               missing=f"{self.host}/{repo}:{reference} was not found; "
                                       "check the repository name and tag"),
        )
        data = response.content
        if reference.startswith("sha256:") and sha256_digest(data) != reference:
            raise IntegrityError(
                f"manifest {self.host}/{repo}@{reference} does not match its digest"
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return media_type, data

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> None:
        """Upload manifest or index ``data`` under ``reference`` (a tag or its digest)."""
        path = f"/v2/{repo}/manifests/{reference}"
        self._retrying(
            f"pushing manifest {self.host}/{repo}:{reference}",
            lambda: self._send("PUT", path, scopes=_scopes(repo, "pull,push"), ok=(201,),
                               headers={"Content-Type": media_type}, body=lambda: data),
        )

    def upload_blob(self, repo: str, blob: Blob, task: Task, *, mount_from: str | None = None
                    ) -> bool:
        """Upload ``blob`` to ``repo`` (mounting it from ``mount_from`` when possible).

        Returns True when the registry mounted it (no bytes sent).
        """
        return self._retrying(f"uploading blob {blob.digest} to {self.host}/{repo}",
                              lambda: self._upload_once(repo, blob, task, mount_from))

    def download_blob(self, repo: str, digest: str, size: int, target: Path, task: Task) -> None:
        """Download blob ``digest`` of ``repo`` into ``target``, checking digest and size."""
        self._retrying(f"downloading blob {digest} from {self.host}/{repo}",
                       lambda: self._download_once(repo, digest, size, target, task))

    def get_blob_bytes(self, repo: str, digest: str) -> bytes:
        """A small blob (a config) in memory, checked against ``digest``."""
        path = f"/v2/{repo}/blobs/{digest}"
        response = self._retrying(
            f"reading blob {digest} from {self.host}/{repo}",
            lambda: self._send("GET", path, scopes=_scopes(repo, "pull"),
                               missing=f"blob {digest} is missing from {self.host}/{repo}"),
        )
        if sha256_digest(response.content) != digest:
            raise IntegrityError(f"blob {digest} from {self.host}/{repo} does not match its digest")
        return response.content

    # --- uploads and downloads --------------------------------------------

    def _upload_once(self, repo: str, blob: Blob, task: Task, mount_from: str | None) -> bool:
        scopes = _scopes(repo, "pull,push") + (_scopes(mount_from, "pull") if mount_from else ())
        params = {"mount": blob.digest, "from": mount_from} if mount_from else {}
        started = self._send("POST", f"/v2/{repo}/blobs/uploads/", scopes=scopes,
                             ok=(201, 202), params=params)
        if started.status_code == 201:
            task.advance(blob.size)
            return True
        location = self._location(started)
        if blob.size > self.options.chunk_size:
            location = self._patch_chunks(location, blob, task, scopes)
            self._send("PUT", location, scopes=scopes, ok=(201,), params={"digest": blob.digest},
                       headers={"Content-Length": "0"})
            return False
        self._send("PUT", location, scopes=scopes, ok=(201,), params={"digest": blob.digest},
                   headers={"Content-Type": "application/octet-stream",
                            "Content-Length": str(blob.size)},
                   body=lambda: blob.chunks(0, blob.size, task))
        return False

    def _patch_chunks(self, location: str, blob: Blob, task: Task,
                      scopes: Sequence[str]) -> str:
        chunk = self.options.chunk_size
        for start in range(0, blob.size, chunk):
            length = min(chunk, blob.size - start)
            response = self._send(
                "PATCH", location, scopes=scopes, ok=(202,),
                headers={"Content-Type": "application/octet-stream",
                         "Content-Length": str(length),
                         "Content-Range": f"{start}-{start + length - 1}"},
                body=lambda s=start, n=length: blob.chunks(s, n, task),  # type: ignore[misc]
            )
            location = self._location(response)
        return location

    def _download_once(self, repo: str, digest: str, size: int, target: Path, task: Task) -> None:
        url = f"/v2/{repo}/blobs/{digest}"
        hasher, received = hashlib.sha256(), 0
        with self._stream("GET", url, scopes=_scopes(repo, "pull"),
                          missing=f"blob {digest} is missing from {self.host}/{repo}") as response:
            try:
                with atomic_writer(target) as out:
                    for piece in response.iter_bytes(_IO_CHUNK):
                        hasher.update(piece)
                        out.write(piece)
                        received += len(piece)
                        task.advance(len(piece))
                    if f"sha256:{hasher.hexdigest()}" != digest or received != size:
                        raise IntegrityError(
                            f"blob {digest} from {self.host}/{repo} does not match its digest"
                        )
            except (httpx.TimeoutException, httpx.NetworkError,
                    httpx.RemoteProtocolError) as exc:
                raise _Retry(f"download interrupted: {exc}",
                             silent=isinstance(exc, httpx.TimeoutException)) from exc

    # --- requests, retries, auth --------------------------------------------

    def _retrying(self, what: str, operation: Callable[[], T]) -> T:
        attempts, silence = self.options.retries + 1, 0.0
        for attempt in range(attempts):
            started = time.monotonic()
            try:
                return operation()
            except _Retry as retry:
                if retry.silent:
                    silence += time.monotonic() - started
                if silence >= self.options.silence:
                    raise TransportError(
                        f"{what} failed: {self.host} did not answer "
                        f"({attempt + 1} attempts of {self.options.timeout:g} s)"
                    ) from retry
                if attempt == attempts - 1:
                    raise TransportError(
                        f"{what} failed after {attempts} attempts: {retry}"
                    ) from retry
                wait = self.options.backoff * (2**attempt)
                delay = retry.delay if retry.delay is not None else wait
                time.sleep(min(delay, self.options.max_backoff))
        raise AssertionError("unreachable")

    def _send(
        self, method: str, path: str, *, scopes: Sequence[str], ok: Sequence[int] = (200,),
        headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
        body: Callable[[], bytes | Iterator[bytes]] | None = None, missing: str | None = None,
    ) -> httpx.Response:
        with self._stream(method, path, scopes=scopes, ok=ok, headers=headers, params=params,
                          body=body, missing=missing) as response:
            response.read()
            return response

    def _stream(
        self, method: str, url: str, *, scopes: Sequence[str], ok: Sequence[int] = (200,),
        headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
        body: Callable[[], bytes | Iterator[bytes]] | None = None, missing: str | None = None,
    ) -> _ResponseContext:
        return _ResponseContext(self, method, url, scopes=scopes, ok=ok, headers=headers,
                                params=params, body=body, missing=missing)

    def _open(self, method: str, url: str, *, scopes: Sequence[str],
              headers: dict[str, str] | None, params: dict[str, str] | None,
              body: Callable[[], bytes | Iterator[bytes]] | None) -> httpx.Response:
        """Send once (again after a 401 challenge); transient failures raise _Retry."""
        for _ in range(2):
            # httpx would replace an upload Location's own query (its _state) with params
            full = httpx.URL(self._resolve(url)).copy_merge_params(params or {})
            request = self._http.build_request(
                method, full, content=body() if body else None,
                headers={**(headers or {}), **self._auth_header(scopes)},
            )
            with self._lock:
                self.requests.append((method, request.url.path))
            try:
                response = self._http.send(request, stream=True)
            except (httpx.TimeoutException, httpx.NetworkError,
                    httpx.RemoteProtocolError) as exc:
                self._maybe_switch_scheme(exc)
                raise _Retry(f"{type(exc).__name__}: {exc or 'connection closed'}",
                             silent=isinstance(exc, httpx.TimeoutException)) from exc
            self._scheme_worked(response)
            if response.status_code != 401 or not self._answer_challenge(response, scopes):
                return response
            response.close()
        return response

    def _resolve(self, url: str) -> str:
        if url.startswith("/"):
            return f"{self._scheme or 'https'}://{self.host}{url}"
        return url

    def _location(self, response: httpx.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise TransportError(f"{self.host} started an upload without a Location header")
        return str(response.url.join(location))

    def _maybe_switch_scheme(self, exc: Exception) -> None:
        """Move to the other scheme when the first guess for a plain-HTTP-allowed host failed."""
        if _certificate_failure(exc):
            ca_hint = f"{self.options.certs_dir}/{self.host}/ca.crt"
            raise TransportError(
                f"TLS verification of {self.host} failed; trust its CA with --ca-file, "
                f"DISTILL_REGISTRY_CA or {ca_hint}"
            ) from exc
        if not self._may_switch:
            return
        if self._scheme != "http" and isinstance(exc, httpx.ConnectError) and _tls_failure(exc):
            self._switch("http")
            raise _Retry("the registry speaks plain HTTP", delay=0) from exc
        if self._scheme == "http" and isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            self._switch("https")
            raise _Retry("the registry speaks HTTPS", delay=0) from exc

    def _switch(self, scheme: str) -> None:
        with self._lock:
            self._scheme, self._may_switch = scheme, False

    def _scheme_worked(self, response: httpx.Response) -> None:
        """Settle the scheme after an answer (a TLS server's 400 to plain HTTP switches)."""
        if self._scheme is None:
            self._scheme = "https"
        if self._scheme == "http" and self._may_switch and response.status_code == 400:
            response.read()
            if b"HTTPS" in response.content:
                response.close()
                self._switch("https")
                raise _Retry("the registry speaks HTTPS", delay=0)
        if self._remembered != self._scheme and self.options.allows_plain_http(self.host):
            self._remembered = self._scheme
            known.remember_scheme(self.host, self._scheme)

    def _auth_header(self, scopes: Sequence[str]) -> dict[str, str]:
        with self._lock:
            if self._bearer is not None:
                token = self._tokens.get(" ".join(scopes))
                return {"Authorization": f"Bearer {token}"} if token else {}
            return {"Authorization": self._basic} if self._basic else {}

    def _answer_challenge(self, response: httpx.Response, scopes: Sequence[str]) -> bool:
        """Set up auth from a 401's challenge; False when there is nothing new to try."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if self._credentials is None and challenge.scheme != "bearer":
            raise TransportError(
                f"{self.host} requires authentication; run `distill login {self.host}`"
            )
        if challenge.scheme == "basic":
            if self._basic is not None or self._credentials is None:
                raise self._rejected()
            self._basic = self._credentials.basic_header()
            return True
        if challenge.scheme == "bearer":
            key = " ".join(scopes)
            if key in self._tokens:
                raise self._rejected()
            self._bearer = dict(challenge.params)
            self._tokens[key] = self._fetch_token(dict(challenge.params), scopes)
            return True
        raise TransportError(
            f"{self.host} asks for unsupported authentication {challenge.scheme!r}"
        )

    def _fetch_token(self, params: dict[str, str], scopes: Sequence[str]) -> str:
        realm = params.get("realm")
        if not realm:
            raise TransportError(f"{self.host}: bearer challenge without a realm")
        query = httpx.QueryParams([("scope", scope) for scope in scopes])
        if "service" in params:
            query = query.add("service", params["service"])
        auth = None
        if self._credentials is not None:
            auth = (self._credentials.username, self._credentials.password)
        try:
            response = self._http.get(realm, params=query, auth=auth)
        except httpx.HTTPError as exc:
            raise _Retry(f"token request to {realm} failed: {exc}",
                         silent=isinstance(exc, httpx.TimeoutException)) from exc
        if response.status_code in (401, 403):
            raise self._rejected()
        if response.status_code != 200:
            raise TransportError(f"token service {realm} answered {response.status_code}")
        doc = response.json()
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str):
            raise TransportError(f"token service {realm} gave no token")
        return token

    def _rejected(self) -> TransportError:
        if self._credentials is None:
            return TransportError(f"{self.host} requires authentication; "
                                  f"run `distill login {self.host}`")
        return TransportError(
            f"{self.host} rejected the credentials of user {self._credentials.username!r}; "
            f"run `distill login {self.host}` with the right password"
        )


class _ResponseContext:
    """Open a request with auth, map statuses to errors or retries, close after use."""

    def __init__(self, client: RegistryClient, method: str, url: str, *,
                 scopes: Sequence[str], ok: Sequence[int], headers: dict[str, str] | None,
                 params: dict[str, str] | None,
                 body: Callable[[], bytes | Iterator[bytes]] | None, missing: str | None) -> None:
        self._client, self._method, self._url = client, method, url
        self._scopes, self._ok, self._missing = scopes, ok, missing
        self._headers, self._params, self._body = headers, params, body
        self._response: httpx.Response | None = None

    def __enter__(self) -> httpx.Response:
        response = self._client._open(self._method, self._url, scopes=self._scopes,
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


def _check_status(host: str, response: httpx.Response, *, ok: Sequence[int],
                  missing: str | None, scopes: Sequence[str]) -> None:
    status = response.status_code
    if status in ok:
        return
    if status in _RETRY_STATUS:
        response.read()
        raise _Retry(f"{host} answered {status}", delay=_retry_after(response))
    what = f"{response.request.method} {response.request.url.path}"
    if status == 401:
        raise TransportError(f"{host} refused {what} (401); run `distill login {host}`")
    if status == 403:
        wanted = " and ".join(scopes) or "access"
        raise TransportError(f"{host} denies {wanted} (403); check that your account has it")
    if status == 404:
        raise TransportError(missing or f"{host}: {what} was not found (404)")
    response.read()
    raise TransportError(f"{host}: {what} failed with {status}: {_error_text(response)}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or "no detail"
    except (ValueError, AttributeError):
        return " ".join(response.text.split())[:200] or "no detail"


def _scopes(repo: str, actions: str) -> tuple[str, ...]:
    return (f"repository:{repo}:{actions}",)


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
    return any(isinstance(e, ssl.SSLCertVerificationError) for e in _causes(exc)) or (
        "CERTIFICATE_VERIFY_FAILED" in str(exc)
    )


def _tls_failure(exc: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLError) for e in _causes(exc)) or "SSL" in str(exc)

