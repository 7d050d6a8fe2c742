"""What each layer holds by itself: its regular files with their sizes and digests.

The SBOM scan (:mod:`distill.sbom.image_files`) gives the merged file system;
inspecting and diffing also need what every layer wrote, including files a
later layer replaced or whited out, since those bytes are still pulled.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from dataclasses import dataclass

from distill.errors import FormatError
from distill.oci.blobs import READ_ERRORS, open_layer_tar
from distill.oci.model import Layer

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerFile:
    """One regular file of one layer (a hard link counts as a file of zero bytes)."""

    path: str
    """Absolute and normalized, as written in the layer."""
    size: int
    sha256: str
    """Of the contents; a hard link's is ``link:`` and its target."""


def read_layer_files(layer: Layer) -> tuple[LayerFile, ...]:
    """The regular files and hard links of ``layer``, sorted by path (the last copy of a
    path the tar holds twice); raise :class:`FormatError` for an unreadable layer."""
    found: dict[str, LayerFile] = {}
    try:
        with open_layer_tar(layer.path, layer.media_type) as stream, \
                tarfile.open(fileobj=stream, mode="r|") as tar:
            for info in tar:
                path = normalize(info.name)
                if info.isreg():
                    found[path] = LayerFile(path=path, size=info.size,
                                            sha256=_digest(tar, info))
                elif info.islnk():
                    found[path] = LayerFile(path=path, size=0,
                                            sha256="link:" + normalize(info.linkname))
                else:
                    found.pop(path, None)
    except (tarfile.TarError, *READ_ERRORS) as exc:
        raise FormatError(f"cannot read layer {layer.digest}: {exc}") from exc
    return tuple(found[p] for p in sorted(found))


def _digest(tar: tarfile.TarFile, info: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    extracted = tar.extractfile(info)
    if extracted is not None:
        while chunk := extracted.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def normalize(name: str) -> str:
    """``./usr/bin/x`` and ``usr/bin/x`` as ``/usr/bin/x``."""
    path = posixpath.normpath("/" + name.removeprefix("./").lstrip("/"))
    return "/" if path == "//" else path
