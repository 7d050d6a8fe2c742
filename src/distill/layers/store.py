"""The layer store: content-addressed layer blobs plus an index of cache keys.

Layout under the root folder::

    blobs/sha256/<hex>     compressed layer blobs (and any other blob), by digest
    keys/<key>.json        cache key -> digest, size, diff_id, uncompressed size,
                           media type and the compressor that made the blob
    locks/<key>.lock       held while a key is being built
    verified/<hex>         the blob's device, inode, size, mtime and ctime when its bytes
                           last matched its digest

A blob is streamed into a temporary file beside its final place, flushed to
disk and renamed to its digest; the key file is written atomically after it.
An interrupted build therefore leaves neither a temporary file nor a key, and
two processes building the same key both end with the same valid layer.

A key whose blob is gone is a *remote-only* entry when the store was given
``remote_has`` (a check that the image's destination registry holds a digest):
the layer is returned as is, its blob file absent, and a push skips it because
the registry already has it. Without the check such a key is rebuilt.

A cached blob is used only while its bytes match its digest: outputs never share
its inode (they copy), but any tool may still edit the cache. Hashing every
cached layer on every build would cost seconds, so the blob is hashed once and
its stat (inode, size, mtime, ctime) recorded; while the stat is unchanged it is
trusted (an edit, even one that restores the mtime, moves the ctime). A blob
that no longer matches is deleted and its layer rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from distill.errors import DistillError, FormatError
from distill.fsutil import atomic_write_bytes, exclusive_lock, mkstemp_beside
from distill.layers.compress import COMPRESSOR_ID, GzipHashWriter, LayerDigests
from distill.layers.tarball import write_tar
from distill.oci import media_types
from distill.oci.blobs import file_digest
from distill.oci.digest import check_digest, digest_hex, sha256_digest
from distill.oci.model import Layer, canonical_json
from distill.oci.verified import VerifiedFiles
from distill.progress import SILENT, Progress
from distill.rootfs.tree import FileTree

_KEY = re.compile(r"^[0-9a-f]{1,128}$")


class LayerStore:
    """Layer blobs and cache keys under ``root`` (usually ``cache_root() / "layers"``)."""

    def __init__(self, root: Path, *, remote_has: Callable[[str], bool] | None = None) -> None:
        self.root = root
        self._remote_has = remote_has
        self._blobs = root / "blobs" / "sha256"
        self._keys = root / "keys"
        self._locks = root / "locks"
        self._verified = VerifiedFiles(root / "verified")

    def blob_path(self, digest: str) -> Path:
        """Where the blob with ``digest`` is (or would be) stored."""
        return self._blobs / digest_hex(digest)

    def put_blob(self, data: bytes) -> Path:
        """Store ``data`` by its digest (once) and return its path."""
        target = self.blob_path(sha256_digest(data))
        if not (target.is_file() and target.stat().st_size == len(data)):
            try:
                atomic_write_bytes(target, data)
            except OSError as exc:
                raise DistillError(f"cannot write blob {target}: {exc}") from exc
        return target

    def lookup(self, key: str) -> Layer | None:
        """The layer stored under ``key``, or None if it is missing or damaged.

        Raises FormatError only for a key that is not a lowercase hex string.
        """
        key_path = self._key_path(key)
        try:
            record = json.loads(key_path.read_bytes())
            layer = Layer(
                digest=check_digest(record["digest"]),
                size=int(record["size"]),
                diff_id=check_digest(record["diff_id"]),
                uncompressed_size=int(record["uncompressed_size"]),
                path=self.blob_path(record["digest"]),
                media_type=str(record["media_type"]),
            )
            if record["compressor"] != COMPRESSOR_ID:
                return None
        except (OSError, ValueError, TypeError, KeyError, FormatError):
            return None
        return layer if self._blob_usable(layer) else None

    def _blob_usable(self, layer: Layer) -> bool:
        """The blob is here and matches its digest, or (remote-only entry) is absent and
        held by the registry."""
        try:
            stat = layer.path.stat()
        except FileNotFoundError:
            return self._remote_has is not None and self._remote_has(layer.digest)
        except OSError:
            return False
        return stat.st_size == layer.size and self._intact(layer.path, layer.digest, stat)

    def _intact(self, path: Path, digest: str, stat: os.stat_result) -> bool:
        """Whether the blob at ``path`` still has ``digest``; a damaged blob is deleted."""
        if self._verified.matches(path, digest, stat):
            return True
        with contextlib.suppress(OSError):  # an unreadable blob is kept, a wrong one goes
            if file_digest(path) != digest:
                path.unlink()
        return False

    def build(
        self,
        key: str | None,
        make_tree: Callable[[], FileTree],
        *,
        mtime: int,
        progress: Progress = SILENT,
    ) -> Layer:
        """The layer for ``key``: from the store, or made from ``make_tree()`` and stored.

        With ``key`` None the layer is always built (and stored by digest only).
        """
        if key is None:
            return self.write_layer(make_tree(), mtime=mtime, progress=progress)
        hit = self.lookup(key)  # also rejects a malformed key before it names a lock file
        if hit is not None:
            return hit
        with exclusive_lock(self._locks / f"{key}.lock"):
            hit = self.lookup(key)
            if hit is not None:
                return hit
            layer = self.write_layer(make_tree(), mtime=mtime, progress=progress)
            try:
                atomic_write_bytes(self._key_path(key), _key_record(layer))
            except OSError as exc:
                raise DistillError(f"cannot write layer cache key {key}: {exc}") from exc
        return layer

    def write_layer(self, tree: FileTree, *, mtime: int, progress: Progress = SILENT) -> Layer:
        """Write ``tree`` as a gzip layer blob in the store, without a cache key."""
        def feed(writer: GzipHashWriter) -> None:
            write_tar(tree, writer, mtime=mtime, task=task)

        task = progress.task("writing layer", total=len(tree))
        try:
            digests = self._write_blob(feed)
            task.finish()
        except OSError as exc:
            raise DistillError(f"cannot write layer into {self._blobs}: {exc}") from exc
        return Layer(
            digest=digests.digest, size=digests.size, diff_id=digests.diff_id,
            uncompressed_size=digests.uncompressed_size,
            path=self.blob_path(digests.digest), media_type=media_types.OCI_LAYER_GZIP,
        )

    def stage(self, key: str, tree: FileTree, *, mtime: int) -> Layer | StagedLayer:
        """The layer for ``key`` from the store, or ``tree``'s tar written uncompressed beside
        the store, to be compressed into it by :meth:`commit` (meanwhile the staged tar can
        go to a sink that takes tars, such as the Docker engine)."""
        hit = self.lookup(key)
        if hit is not None:
            return hit
        staging = self.root / "staged"
        staging.mkdir(parents=True, exist_ok=True)
        _remove_stale(staging)
        fd, tar = mkstemp_beside(staging / key)
        try:
            with os.fdopen(fd, "wb") as handle:
                hashing = _HashingSink(handle)
                write_tar(tree, hashing, mtime=mtime)
        except BaseException:
            tar.unlink(missing_ok=True)
            raise
        return StagedLayer(key=key, tar=tar, diff_id=f"sha256:{hashing.hash.hexdigest()}",
                           size=hashing.size)

    def commit(self, staged: StagedLayer) -> Layer:
        """Compress the staged tar into the store under its key (the tar stays for its
        readers: :meth:`StagedLayer.discard` removes it)."""
        try:
            with exclusive_lock(self._locks / f"{self._key_path(staged.key).stem}.lock"):
                hit = self.lookup(staged.key)
                if hit is not None:
                    return hit
                layer = self._store_tar(staged)
                atomic_write_bytes(self._key_path(staged.key), _key_record(layer))
        except OSError as exc:
            raise DistillError(f"cannot write layer into {self._blobs}: {exc}") from exc
        return layer

    def _store_tar(self, staged: StagedLayer) -> Layer:
        def feed(writer: GzipHashWriter) -> None:
            with staged.tar.open("rb") as tar:
                while chunk := tar.read(1 << 20):
                    writer.write(chunk)

        digests = self._write_blob(feed, diff_id=staged.diff_id)
        return Layer(
            digest=digests.digest, size=digests.size, diff_id=digests.diff_id,
            uncompressed_size=digests.uncompressed_size,
            path=self.blob_path(digests.digest), media_type=media_types.OCI_LAYER_GZIP,
        )

    def _write_blob(self, feed: Callable[[GzipHashWriter], None], *,
                    diff_id: str | None = None) -> LayerDigests:
        """The gzip blob of what ``feed`` writes, stored by its digest (only when the tar
        has ``diff_id``, if given)."""
        self._blobs.mkdir(parents=True, exist_ok=True)
        fd, tmp = mkstemp_beside(self._blobs / "layer")
        try:
            with os.fdopen(fd, "wb") as handle:
                writer = GzipHashWriter(handle)
                feed(writer)
                digests = writer.finish()
                if diff_id is not None and digests.diff_id != diff_id:
                    raise DistillError("a staged layer changed before it was stored")
                handle.flush()
                os.fsync(handle.fileno())
            target = self.blob_path(digests.digest)
            tmp.replace(target)
            _fsync_dir(self._blobs)
            self._verified.record(target, digests.digest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return digests

    def _key_path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise FormatError(f"layer cache key {key!r} is not a lowercase hex string")
        return self._keys / f"{key}.json"


_STALE_SECONDS = 24 * 3600
"""A staged tar this old was left by a build that was killed (a live one commits in seconds)."""


def _remove_stale(staging: Path) -> None:
    """Remove staged tars that killed builds left behind."""
    cutoff = time.time() - _STALE_SECONDS
    with contextlib.suppress(OSError), os.scandir(staging) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    Path(entry.path).unlink()


@dataclass(frozen=True)
class StagedLayer:
    """A layer's tar written uncompressed beside the store (see :meth:`LayerStore.stage`)."""

    key: str
    tar: Path
    diff_id: str
    size: int

    def discard(self) -> None:
        """Remove the staged tar."""
        self.tar.unlink(missing_ok=True)

    def as_layer(self) -> Layer:
        """The staged tar as an uncompressed layer: same diff_id, so the same image config."""
        return Layer(digest=self.diff_id, size=self.size, diff_id=self.diff_id,
                     uncompressed_size=self.size, path=self.tar, media_type=media_types.OCI_LAYER)


class _HashingSink:
    """Writes through to ``out`` while hashing and counting what passes."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self._out.write(data)


def _key_record(layer: Layer) -> bytes:
    return canonical_json({
        "compressor": COMPRESSOR_ID,
        "diff_id": layer.diff_id,
        "digest": layer.digest,
        "media_type": layer.media_type,
        "size": layer.size,
        "uncompressed_size": layer.uncompressed_size,
    })


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
