"""A tar of an OCI image layout (skopeo's ``oci-archive:``).

Writing streams the layout's files straight into a temporary file renamed into
place: names sorted, mtime 0, owner 0, fixed modes inside the tar; layer blobs
are read once, hashed as they are tarred, and refused if they no longer match
their digest. Reading unpacks the archive into a caller-provided work folder and
reads the layout there.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

from distill.errors import IntegrityError, TransportError
from distill.fsutil import atomic_writer, write_failure
from distill.oci.model import Artifact, Layer
from distill.oci.reference import Reference
from distill.progress import SILENT, Progress
from distill.transports import oci_layout
from distill.transports.protocol import need_path
from distill.transports.unpack import read_unpacked

_COPY_BUFFER = 1 << 20


def write(artifact: Artifact, path: Path, *, tag: str | None) -> None:
    """Write ``artifact`` as an OCI layout tarball at ``path`` (replacing any old file)."""
    files: dict[str, bytes | Layer] = {
        f"blobs/sha256/{name}": content
        for name, content in oci_layout.layout_blobs(artifact).items()
    }
    files["index.json"] = oci_layout.top_index([], artifact, tag)
    files[oci_layout.LAYOUT_FILE] = oci_layout.LAYOUT_BYTES
    try:
        with atomic_writer(path) as out:
            _tar_files(files, out)
    except OSError as exc:
        raise TransportError(write_failure(path, exc)) from exc


def _tar_files(files: dict[str, bytes | Layer], out: BinaryIO) -> None:
    with tarfile.TarFile(
        fileobj=out, mode="w", format=tarfile.PAX_FORMAT, copybufsize=_COPY_BUFFER
    ) as tar:
        for folder in ("blobs", "blobs/sha256"):
            tar.addfile(_info(f"{folder}/", 0, directory=True))
        for name in sorted(files):
            content = files[name]
            if isinstance(content, Layer):
                _add_layer(tar, name, content)
            else:
                tar.addfile(_info(name, len(content)), io.BytesIO(content))


def _info(name: str, size: int, *, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode, info.size = (0o755 if directory else 0o644), size
    return info


def _add_layer(tar: tarfile.TarFile, name: str, layer: Layer) -> None:
    try:
        source = layer.path.open("rb")
    except OSError as exc:
        raise TransportError(f"cannot read layer {layer.path}: {exc}") from exc
    with source:
        if os.fstat(source.fileno()).st_size != layer.size:
            raise IntegrityError(f"layer file {layer.path} does not have {layer.size} bytes")
        reader = _HashingReader(source, layer.path)
        tar.addfile(_info(name, layer.size), reader)
        if reader.read(1) or f"sha256:{reader.hasher.hexdigest()}" != layer.digest:
            raise IntegrityError(
                f"layer file {layer.path} does not match its digest {layer.digest}"
            )


class _HashingReader:
    """Reads a layer file for tarfile, hashing it; read errors name the layer file."""

    def __init__(self, source: BinaryIO, path: Path) -> None:
        self.hasher = hashlib.sha256()
        self._source, self._path = source, path

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._source.read(size)
        except OSError as exc:
            raise TransportError(f"cannot read layer {self._path}: {exc}") from exc
        self.hasher.update(data)
        return data


def read(path: Path, *, tag: str | None, work_dir: Path) -> Artifact:
    """Read the image or index tagged ``tag`` from the OCI archive at ``path``.

    The archive is unpacked into a new folder inside ``work_dir``; the returned
    layers point at blobs there, so they live as long as ``work_dir`` does.
    """
    return read_unpacked(path, work_dir, kind="OCI archive",
                         read=lambda layout: oci_layout.read(layout, tag=tag))


def write_reference(artifact: Artifact, ref: Reference, *, progress: Progress = SILENT) -> None:
    """``oci-archive:PATH[:TAG]``: see :func:`write`."""
    write(artifact, need_path(ref), tag=ref.tag)


def read_reference(ref: Reference, *, work_dir: Path, check_diff_ids: bool = True) -> Artifact:
    """``oci-archive:PATH[:TAG]``: unpacked into ``work_dir``, every blob checked."""
    return read(need_path(ref), tag=ref.tag, work_dir=work_dir)
