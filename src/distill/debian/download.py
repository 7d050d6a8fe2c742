"""Verified downloads into a content-addressed cache.

Cache layout below the folder the caller passes (``cache_root() / "debian"``)::

    by-hash/sha256/<hex>      files whose SHA-256 was checked before they were renamed in
    by-hash/sha256/<hex>.lock the per-file lock concurrent builds take while fetching
    inrelease/<name>          the last verified InRelease of each suite (information only)
    parsed/<hex>.<format>     parsed Packages indexes, keyed by the compressed file's hash

Every file under ``by-hash`` was verified before it got there, so a file that is
present is trusted without hashing it again.

A file may be offered at several URLs (a Release file's ``by-hash`` path, then
its canonical name, as apt does): a 404 or a copy that does not match moves on
to the next, and when every copy mismatched, all are tried once more before the
mismatch is reported (a mirror being synced serves new indexes under old names
for a moment).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

import httpx

from distill import __version__
from distill.errors import FetchError, IntegrityError
from distill.fsutil import atomic_writer, exclusive_lock
from distill.progress import SILENT, Progress, Task

_TRIES = 3
_MISMATCH_ROUNDS = 2
_BACKOFF = 0.25
_CHUNK = 1 << 16
_T = TypeVar("_T")


@dataclass(frozen=True)
class DownloadRequest:
    """A file to fetch and the SHA-256 (hex) and size (bytes, if known) it must have."""

    url: str
    sha256: str
    size: int | None = None
    alternatives: tuple[str, ...] = ()
    """Other copies of the file, tried in order when ``url`` answers 404 or mismatches."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (loading the CA store is the slow part).

    It trusts the system's CA store, as apt does, so a mirror behind a company
    CA that the host trusts works without extra settings.
    """
    return ssl.create_default_context()


def new_client(*, jobs: int = 8) -> httpx.Client:
    """An HTTP client set up for mirrors: redirects followed, no content encoding."""
    return httpx.Client(
        verify=_tls_context(),
        follow_redirects=True,
        timeout=httpx.Timeout(60.0, connect=15.0),
        limits=httpx.Limits(max_connections=jobs, max_keepalive_connections=jobs),
        headers={"User-Agent": f"distill/{__version__}", "Accept-Encoding": "identity"},
    )


@contextlib.contextmanager
def client_or_new(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """``client`` as it is, or a new one that is closed when the block ends."""
    if client is not None:
        yield client
        return
    with new_client() as own:
        yield own


def cached_path(cache: Path, sha256: str) -> Path:
    """Where the file with this SHA-256 lives in the cache."""
    return cache / "by-hash" / "sha256" / sha256.lower()


def fetch_bytes(client: httpx.Client, url: str) -> bytes:
    """GET a small file (an InRelease) fresh into memory, with retries."""

    def attempt() -> bytes:
        response = client.get(url)
        _check_status(response, url)
        return response.content

    return _with_retries(attempt, url=url)


class NotFoundError(FetchError):
    """The server answered 404 for ``url``: the file is not (or no longer) there."""

    def __init__(self, url: str) -> None:
        super().__init__(f"not found at {url} (HTTP 404)")
        self.url = url


def fetch_verified(
    client: httpx.Client,
    urls: str | Sequence[str],
    *,
    sha256: str,
    size: int | None,
    cache: Path,
    progress: Progress = SILENT,
) -> Path:
    """Return the cached file with ``sha256``, downloading and checking it first.

    ``urls`` are copies of the same file, tried in order (see the module
    docstring). The download goes to a temporary file beside the target and is
    renamed in only once its size and SHA-256 match; otherwise nothing is left
    behind. A 404 at every URL raises :class:`NotFoundError`; copies that never
    match raise IntegrityError.
    """
    candidates = [urls] if isinstance(urls, str) else list(urls)
    if not candidates:
        raise ValueError("fetch_verified needs at least one URL")
    target = cached_path(cache, sha256)
    if target.is_file():
        return target
    task = progress.task(candidates[-1].rsplit("/", 1)[-1], total=size)
    try:
        return _fetch_locked(client, candidates, sha256=sha256, size=size, target=target,
                             task=task)
    finally:
        task.finish()


def fetch_all(
    requests: Sequence[DownloadRequest],
    *,
    cache: Path,
    progress: Progress = SILENT,
    jobs: int = 8,
    client: httpx.Client | None = None,
) -> dict[str, Path]:
    """Fetch every request verified into the cache, ``jobs`` at a time; map URL -> path."""
    unique = list({request.url: request for request in requests}.values())
    total = sum(request.size or 0 for request in unique)
    task = progress.task(f"Downloading {len(unique)} files", total=total or None)
    own_client = client is None
    http = client if client is not None else new_client(jobs=jobs)
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    stop = threading.Event()
    shared = _StoppableTask(task, stop)
    try:
        futures = {
            request.url: pool.submit(_fetch_one, http, request, cache=cache, task=shared)
            for request in unique
        }
        return {url: future.result() for url, future in futures.items()}
    except BaseException:
        stop.set()  # running downloads end at their next chunk instead of finishing
        raise
    finally:
        # On the first failure (or Ctrl-C) the queued downloads are dropped, not started.
        pool.shutdown(wait=True, cancel_futures=True)
        task.finish()
        if own_client:
            http.close()


def _fetch_one(client: httpx.Client, request: DownloadRequest, *, cache: Path, task: Task) -> Path:
    target = cached_path(cache, request.sha256)
    if target.is_file():
        task.advance(request.size or 0)
        return target
    return _fetch_locked(client, [request.url, *request.alternatives], sha256=request.sha256,
                         size=request.size, target=target, task=task)


def _fetch_locked(
    client: httpx.Client, urls: Sequence[str], *, sha256: str, size: int | None, target: Path,
    task: Task,
) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(Path(f"{target}.lock")):
        # Another build may have fetched it while this one waited for the lock.
        if not target.is_file():
            _fetch_first(client, urls, sha256=sha256, size=size, target=target, task=task)
        elif size:
            task.advance(size)
    return target


def _fetch_first(
    client: httpx.Client, urls: Sequence[str], *, sha256: str, size: int | None, target: Path,
    task: Task,
) -> None:
    """Download the first copy in ``urls`` that exists and matches (see the module docstring)."""
    for round_number in range(1, _MISMATCH_ROUNDS + 1):
        failures: list[FetchError | IntegrityError] = []
        for url in urls:
            try:
                _with_retries(
                    functools.partial(_download, client, url, sha256=sha256, size=size,
                                      target=target, task=task),
                    url=url,
                )
                return
            except (NotFoundError, IntegrityError) as exc:
                failures.append(exc)
        mismatches = [exc for exc in failures if isinstance(exc, IntegrityError)]
        if not mismatches:
            raise failures[0]  # a 404 at every URL
        if round_number == _MISMATCH_ROUNDS:
            raise mismatches[0]
        time.sleep(_BACKOFF)


def _download(
    client: httpx.Client, url: str, *, sha256: str, size: int | None, target: Path, task: Task
) -> None:
    counted = _CountedTask(task)
    try:
        with client.stream("GET", url) as response:
            _check_status(response, url)
            with atomic_writer(target) as handle:
                _copy_checked(response.iter_raw(_CHUNK), handle, url=url,
                              sha256=sha256, size=size, task=counted)
    except OSError as exc:
        counted.rewind()
        if exc.errno == errno.ENOSPC:
            raise FetchError(f"disk full while writing {target}") from exc
        raise FetchError(f"cannot write {target} (from {url}): {exc}") from exc
    except BaseException:
        counted.rewind()  # a retry starts again from zero
        raise


class _StoppableTask:
    """Forwards progress; once ``stop`` is set, raises in the thread that reports more bytes."""

    def __init__(self, task: Task, stop: threading.Event) -> None:
        self._task = task
        self._stop = stop

    def advance(self, amount: int) -> None:
        if amount > 0 and self._stop.is_set():
            raise FetchError("download cancelled: the build stopped")
        self._task.advance(amount)

    def finish(self) -> None:
        self._task.finish()


class _CountedTask:
    """A task wrapper that can take back what one failed attempt reported."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self.done = 0

    def advance(self, amount: int) -> None:
        self.done += amount
        self._task.advance(amount)

    def finish(self) -> None:
        self._task.finish()

    def rewind(self) -> None:
        if self.done:
            self._task.advance(-self.done)
            self.done = 0


def _copy_checked(
    chunks: Iterator[bytes], handle: BinaryIO, *, url: str, sha256: str, size: int | None,
    task: Task,
) -> None:
    """Write ``chunks`` to ``handle`` while hashing; raise IntegrityError on a mismatch."""
    digest = hashlib.sha256()
    done = 0
    for chunk in chunks:
        done += len(chunk)
        if size is not None and done > size:
            raise IntegrityError(f"{url}: larger than the {size} bytes the index promises")
        digest.update(chunk)
        handle.write(chunk)
        task.advance(len(chunk))
    if size is not None and done != size:
        raise IntegrityError(f"{url}: size mismatch: expected {size} bytes, got {done}")
    if digest.hexdigest() != sha256.lower():
        raise IntegrityError(
            f"{url}: SHA-256 mismatch: expected {sha256.lower()}, got {digest.hexdigest()}"
        )


def _check_status(response: httpx.Response, url: str) -> None:
    if response.status_code == 404:
        raise NotFoundError(url)
    if response.status_code >= 400:
        raise _HTTPStatus(url, response.status_code, response.reason_phrase)


class _HTTPStatus(FetchError):
    """An HTTP error status; 5xx ones are retried."""

    def __init__(self, url: str, status: int, reason: str) -> None:
        super().__init__(f"{url}: HTTP {status} {reason}".rstrip())
        self.status = status


def _with_retries(attempt: Callable[[], _T], *, url: str) -> _T:
    """Run ``attempt``, retrying network errors and 5xx statuses a few times."""
    for number in range(1, _TRIES + 1):
        try:
            return attempt()
        except _HTTPStatus as exc:
            if exc.status < 500 or number == _TRIES:
                raise
        except httpx.TransportError as exc:
            if number == _TRIES:
                raise FetchError(f"{url}: {_describe(exc)}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {_describe(exc)}") from exc
        time.sleep(_BACKOFF * number)
    raise AssertionError("unreachable")


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
