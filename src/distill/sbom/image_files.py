"""The file system an image's layers make, read once, in order, with whiteouts applied.

Every regular file is hashed (SHA-1 for SPDX, SHA-256 for both formats); the
contents are kept only for the files a scanner reads (package metadata,
copyright files, jars, Go binaries), so even a JRE image stays small in memory.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from distill.errors import FormatError
from distill.oci.blobs import READ_ERRORS, open_layer_tar
from distill.oci.model import Image

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_MAX_LINKS = 40

KeepContents = Callable[[str, bytes], bool]
"""``keep(path, data)``: whether a scanner needs the contents of this regular file."""


@dataclass(frozen=True)
class FileRecord:
    """One entry of the image's final file system."""

    path: str
    """Absolute, normalized (``/etc/passwd``)."""
    kind: str
    """``file``, ``dir``, ``symlink`` or ``other``."""
    layer: int
    """Index of the layer that wrote it last."""
    size: int = 0
    sha1: str = ""
    sha256: str = ""
    target: str = ""
    """A symlink's target as written."""
    data: bytes | None = None
    """The contents, when a scanner asked for them."""


class ImageFiles:
    """The merged file system of an image's layers."""

    def __init__(self, records: dict[str, FileRecord]) -> None:
        self._records = records

    def get(self, path: str) -> FileRecord | None:
        """The entry at ``path`` exactly as written (no links followed)."""
        return self._records.get(_normalize(path))

    def resolve(self, path: str) -> FileRecord | None:
        """The entry ``path`` names after following symlinks (folders' and its own)."""
        resolved = self.real_path(path)
        return None if resolved is None else self._records.get(resolved)

    def real_path(self, path: str) -> str | None:
        """``path`` with every symlink on the way followed, or None for a loop."""
        parts = [p for p in _normalize(path).split("/") if p]
        current = "/"
        hops = 0
        while parts:
            candidate = posixpath.join(current, parts.pop(0))
            record = self._records.get(candidate)
            if record is not None and record.kind == "symlink":
                hops += 1
                if hops > _MAX_LINKS:
                    return None
                base = "/" if record.target.startswith("/") else current
                parts = [p for p in posixpath.join(base, record.target).split("/") if p] + parts
                current = "/"
                continue
            current = candidate
        return _normalize(current)

    def files(self) -> Iterator[FileRecord]:
        """Every regular file, sorted by path."""
        for path in sorted(self._records):
            record = self._records[path]
            if record.kind == "file":
                yield record

    def text(self, path: str) -> str | None:
        """The kept contents of the regular file ``path`` (links followed) as text."""
        record = self.resolve(path)
        if record is None or record.data is None:
            return None
        return record.data.decode("utf-8", "replace")


def read_image_files(image: Image, *, keep: KeepContents) -> ImageFiles:
    """Apply ``image``'s layers in order; raise :class:`FormatError` for an unreadable one."""
    records: dict[str, FileRecord] = {}
    for index, layer in enumerate(image.layers):
        try:
            with open_layer_tar(layer.path, layer.media_type) as stream, \
                    tarfile.open(fileobj=stream, mode="r|") as tar:
                _apply_layer(records, tar, index=index, keep=keep)
        except (tarfile.TarError, *READ_ERRORS) as exc:
            raise FormatError(f"cannot read layer {layer.digest}: {exc}") from exc
    return ImageFiles(records)


def _apply_layer(records: dict[str, FileRecord], tar: tarfile.TarFile, *, index: int,
                 keep: KeepContents) -> None:
    for info in tar:
        path = _normalize(info.name)
        folder, name = posixpath.split(path)
        if name == _OPAQUE:
            _remove_under(records, folder, keep_folder=True)
            continue
        if name.startswith(_WHITEOUT):
            _remove_under(records, posixpath.join(folder, name[len(_WHITEOUT):]),
                          keep_folder=False)
            continue
        existing = records.get(path)
        if existing is not None and existing.kind == "dir" and not info.isdir():
            _remove_under(records, path, keep_folder=False)
        records[path] = _record(tar, info, path=path, index=index, records=records, keep=keep)


def _record(tar: tarfile.TarFile, info: tarfile.TarInfo, *, path: str, index: int,
            records: dict[str, FileRecord], keep: KeepContents) -> FileRecord:
    if info.isreg():
        extracted = tar.extractfile(info)
        data = extracted.read() if extracted is not None else b""
        return FileRecord(
            path=path, kind="file", layer=index, size=len(data),
            sha1=hashlib.sha1(data).hexdigest(), sha256=hashlib.sha256(data).hexdigest(),
            data=data if keep(path, data) else None,
        )
    if info.islnk():
        source = records.get(_normalize(info.linkname))
        if source is None or source.kind != "file":
            raise FormatError(f"hard link {path} points to {info.linkname}, not a file")
        return FileRecord(path=path, kind="file", layer=index, size=source.size,
                          sha1=source.sha1, sha256=source.sha256, data=source.data)
    if info.issym():
        return FileRecord(path=path, kind="symlink", layer=index, target=info.linkname)
    kind = "dir" if info.isdir() else "other"
    return FileRecord(path=path, kind=kind, layer=index)


def _remove_under(records: dict[str, FileRecord], path: str, *, keep_folder: bool) -> None:
    prefix = path.rstrip("/") + "/"
    for known in [p for p in records if p.startswith(prefix)]:
        del records[known]
    if not keep_folder:
        records.pop(path, None)


def _normalize(name: str) -> str:
    path = posixpath.normpath("/" + name.removeprefix("./").lstrip("/"))
    return "/" if path == "//" else path
