"""A tar of an OCI image layout (skopeo's ``oci-archive:``).

Writing builds the layout in a temporary folder beside the target (so layer
blobs can be hard-linked), then tars it deterministically into a temporary file
renamed into place. Reading unpacks the archive into a caller-provided work
folder and reads the layout there.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from distill.errors import TransportError
from distill.fsutil import atomic_writer
from distill.oci.model import Artifact
from distill.transports import oci_layout

_COPY_BUFFER = 1 << 20


def write(artifact: Artifact, path: Path, *, tag: str | None) -> None:
    """Write ``artifact`` as an OCI layout tarball at ``path`` (replacing any old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as tmp:
        layout = Path(tmp) / "layout"
        oci_layout.write(artifact, layout, tag=tag)
        try:
            with atomic_writer(path) as out:
                _tar_folder(layout, out)
        except OSError as exc:
            raise TransportError(f"cannot write OCI archive {path}: {exc}") from exc


def _tar_folder(root: Path, out: BinaryIO) -> None:
    """Tar ``root``'s contents with sorted names, mtime 0, owner 0 and fixed modes."""
    with tarfile.TarFile(
        fileobj=out, mode="w", format=tarfile.PAX_FORMAT, copybufsize=_COPY_BUFFER
    ) as tar:
        for relative in _walk(root):
            source = root / relative
            info = tarfile.TarInfo(relative.as_posix() + ("/" if source.is_dir() else ""))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if source.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            info.mode, info.size = 0o644, source.stat().st_size
            with source.open("rb") as data:
                tar.addfile(info, data)


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root)
        found += [base / name for name in dirs + files]
    return sorted(found, key=lambda p: p.as_posix())


def read(path: Path, *, tag: str | None, work_dir: Path) -> Artifact:
    """Read the image or index tagged ``tag`` from the OCI archive at ``path``.

    The archive is unpacked into a new folder inside ``work_dir``; the returned
    layers point at blobs there, so they live as long as ``work_dir`` does.
    """
    layout = Path(tempfile.mkdtemp(prefix="oci-archive.", dir=work_dir))
    try:
        with tarfile.open(path, mode="r:") as tar:
            tar.extractall(layout, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise TransportError(f"cannot unpack OCI archive {path}: {exc}") from exc
    return oci_layout.read(layout, tag=tag)
