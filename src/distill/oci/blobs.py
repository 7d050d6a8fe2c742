"""Reading layer blobs on disk: their tar stream, digests and sizes.

Every reader of a layer (the OCI layout, docker-archive, registry pulls and
``validate``) opens it through :func:`open_layer_tar`, so each compression is
handled in one place.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from distill.errors import FormatError
from distill.oci import media_types

_CHUNK = 1 << 20
_GZIP = frozenset({media_types.OCI_LAYER_GZIP, media_types.DOCKER_LAYER_GZIP})

READ_ERRORS = (OSError, EOFError)
"""What reading a damaged blob may raise (gzip errors are OSError subclasses, zstd errors
are turned into OSError)."""


@contextlib.contextmanager
def decompressing(raw: IO[bytes], media_type: str) -> Iterator[IO[bytes]]:
    """The tar stream inside the open blob ``raw``; afterwards ``raw`` is read to its end."""
    if media_type in _GZIP:
        from isal import igzip  # with gzip: only where a layer is read, not on every start

        with igzip.IGzipFile(fileobj=raw, mode="rb") as stream:  # type: ignore[no-untyped-call]
            yield cast(IO[bytes], stream)
    elif media_type == media_types.OCI_LAYER_ZSTD:
        # zstandard (with platform) costs ~5 ms to import: only zstd layers pay for it.
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(
            raw, read_across_frames=True, closefd=False
        )
        with reader as zs, io.BufferedReader(_ZstdErrorsAsOSError(zs, zstandard.ZstdError),
                                             _CHUNK) as stream:
            yield cast(IO[bytes], stream)
    elif media_type == media_types.OCI_LAYER:
        yield raw
    else:
        raise FormatError(f"unsupported layer media type {media_type!r}")
    while raw.read(_CHUNK):
        pass  # trailing bytes still count for the blob's digest


class _ZstdErrorsAsOSError(io.RawIOBase):
    """A zstd stream whose decoding errors are OSError, as gzip's are (see READ_ERRORS)."""

    def __init__(self, stream: Any, error: type[Exception]) -> None:
        self._stream = stream
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read(len(buffer))
        except self._error as exc:
            raise OSError(f"zstd: {exc}") from exc
        buffer[:len(data)] = data
        return len(data)


@contextlib.contextmanager
def open_layer_tar(path: Path, media_type: str) -> Iterator[IO[bytes]]:
    """The tar stream of the layer blob at ``path``."""
    with path.open("rb") as raw, decompressing(raw, media_type) as tar:
        yield tar


def measure_blob(path: Path, media_type: str) -> tuple[str, int, str, int]:
    """Digest and size of the blob at ``path`` and of the tar inside it (its diff_id)."""
    outer, inner = hashlib.sha256(), hashlib.sha256()
    uncompressed = 0
    try:
        with path.open("rb") as file:
            raw = _Hashing(file, outer)
            with decompressing(cast(IO[bytes], raw), media_type) as tar:
                while chunk := tar.read(_CHUNK):
                    inner.update(chunk)
                    uncompressed += len(chunk)
            size = file.tell()
    except READ_ERRORS as exc:
        raise FormatError(f"cannot read layer blob {path}: {exc}") from exc
    return f"sha256:{outer.hexdigest()}", size, f"sha256:{inner.hexdigest()}", uncompressed


def tar_digest(path: Path, media_type: str) -> tuple[str, int]:
    """The digest (diff_id) and size of the tar inside the layer blob at ``path``."""
    _, _, diff_id, size = measure_blob(path, media_type)
    return diff_id, size


def size_hint(path: Path, media_type: str, size: int) -> int:
    """The tar's size as the blob declares it (the gzip trailer), 0 when it does not."""
    if media_type == media_types.OCI_LAYER:
        return size
    if media_type not in _GZIP or size < 4:
        return 0
    with path.open("rb") as handle:
        handle.seek(size - 4)
        return int.from_bytes(handle.read(4), "little")  # ISIZE: the tar size mod 2**32


def file_digest(path: Path) -> str:
    """The sha256 digest of the file at ``path``."""
    with path.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


class _Hashing(io.RawIOBase):
    """A read-only stream that hashes what is read through it."""

    def __init__(self, raw: IO[bytes], digest: Any) -> None:
        super().__init__()
        self._raw, self._digest = raw, digest

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._digest.update(data)
        return len(data)

    def readable(self) -> bool:
        return True
