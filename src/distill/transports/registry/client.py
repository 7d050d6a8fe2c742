"""A small client of the OCI distribution protocol: manifests, uploads, downloads.

One :class:`RegistryClient` talks to one registry host. Every operation (a
manifest request, a whole blob upload, a whole download) is retried as a whole
(:mod:`.retry`); requests, the scheme and authentication are
:mod:`.connection`'s and :mod:`.challenge`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from distill.errors import IntegrityError, TransportError
from distill.oci import media_types
from distill.oci.digest import sha256_digest
from distill.progress import Task
from distill.transports.registry.auth import Credentials, load_credentials
from distill.transports.registry.challenge import Authenticator
from distill.transports.registry.connection import Connection
from distill.transports.registry.files import replacing
from distill.transports.registry.http import HttpError
from distill.transports.registry.options import RegistryOptions
from distill.transports.registry.retry import Retry, retrying

ACCEPT_MANIFESTS = ", ".join(sorted(media_types.MANIFESTS | media_types.INDEXES))
_IO_CHUNK = 1 << 20
T = TypeVar("T")


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
        auth = Authenticator(host, credentials if credentials is not None
                             else load_credentials(host))
        self._connection = Connection(host, options=self.options, auth=auth)
        self._send = self._connection.send
        self._stream = self._connection.stream
        self._location = self._connection.location

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every (method, path) sent, for callers that count round trips."""
        return self._connection.requests

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._connection.close()

    def _retrying(self, what: str, operation: Callable[[], T]) -> T:
        return retrying(what, operation, host=self.host, options=self.options)

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
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        return media_type, data

    def find_manifest(self, repo: str, reference: str) -> tuple[str, bytes] | None:
        """Like :meth:`get_manifest`, but None when ``reference`` does not exist."""
        if self.manifest_digest(repo, reference) is None:
            return None
        return self.get_manifest(repo, reference)

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str
                     ) -> str | None:
        """Upload manifest or index ``data`` under ``reference`` (a tag or its digest).

        Returns the ``OCI-Subject`` header: a registry with the referrers API sets
        it when it indexed the manifest's ``subject``.
        """
        path = f"/v2/{repo}/manifests/{reference}"
        response = self._retrying(
            f"pushing manifest {self.host}/{repo}:{reference}",
            lambda: self._send("PUT", path, scopes=_scopes(repo, "pull,push"), ok=(201,),
                               headers={"Content-Type": media_type}, body=lambda: data),
        )
        subject: str | None = response.headers.get("OCI-Subject")
        return subject

    def referrers(self, repo: str, digest: str) -> bytes | None:
        """The referrers index of manifest ``digest`` from the referrers API, or None when
        the registry has no such API (it answers 404 or 405)."""
        path = f"/v2/{repo}/referrers/{digest}"
        response = self._retrying(
            f"listing the referrers of {self.host}/{repo}@{digest}",
            lambda: self._send("GET", path, scopes=_scopes(repo, "pull"), ok=(200, 404, 405),
                               headers={"Accept": media_types.OCI_INDEX}),
        )
        content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        if response.status_code != 200 or content_type != media_types.OCI_INDEX:
            return None
        return response.content

    def upload_blob(self, repo: str, blob: Blob, task: Task, *, mount_from: str | None = None
                    ) -> bool:
        """Upload ``blob`` to ``repo`` (mounting it from ``mount_from`` when possible).

        Returns True when the registry mounted it (no bytes sent).
        """
        return self._retrying(f"uploading blob {blob.digest} to {self.host}/{repo}",
                              lambda: self._upload_once(repo, blob, task, mount_from))

    def download_blob(self, repo: str, digest: str, size: int, target: Path, task: Task, *,
                      durable: bool = True) -> None:
        """Download blob ``digest`` of ``repo`` into ``target``, checking digest and size
        (flushed to disk before it appears unless not ``durable``: see :mod:`.files`)."""
        self._retrying(f"downloading blob {digest} from {self.host}/{repo}",
                       lambda: self._download_once(repo, digest, size, target, task, durable))

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

    def _download_once(self, repo: str, digest: str, size: int, target: Path, task: Task,
                       durable: bool) -> None:
        url = f"/v2/{repo}/blobs/{digest}"
        hasher, received = hashlib.sha256(), 0
        with self._stream("GET", url, scopes=_scopes(repo, "pull"),
                          missing=f"blob {digest} is missing from {self.host}/{repo}") as response:
            try:
                with replacing(target, durable=durable) as out:
                    for piece in response.iter_bytes():  # as received: no re-chunking copy
                        hasher.update(piece)
                        out.write(piece)
                        received += len(piece)
                        task.advance(len(piece))
                    if f"sha256:{hasher.hexdigest()}" != digest or received != size:
                        raise IntegrityError(
                            f"blob {digest} from {self.host}/{repo} does not match its digest"
                        )
            except HttpError as exc:
                raise Retry(f"download interrupted: {exc}", silent=exc.timed_out) from exc



def _scopes(repo: str, actions: str) -> tuple[str, ...]:
    return (f"repository:{repo}:{actions}",)
