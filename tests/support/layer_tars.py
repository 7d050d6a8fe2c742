"""Layer tars built entry by entry (hostile ones included) and images made of them."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.oci.config import HistoryEntry, RuntimeConfig, config_bytes
from distill.oci.model import Image, Layer, Platform


@dataclass(frozen=True)
class Entry:
    """One tar entry: a file (``data``), a folder, a symbolic or a hard link."""

    name: str
    kind: str = "file"
    """file | dir | symlink | hardlink"""
    data: bytes = b""
    target: str = ""


def tar_of(entries: Sequence[Entry]) -> bytes:
    """A tar holding ``entries`` in this order, names exactly as given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mtime, info.mode = 0, 0o755 if entry.kind == "dir" else 0o644
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE,
                         "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[entry.kind]
            info.linkname = entry.target
            info.size = len(entry.data) if entry.kind == "file" else 0
            tar.addfile(info, io.BytesIO(entry.data) if entry.kind == "file" else None)
    return buffer.getvalue()


def gzip_layer(folder: Path, entries: Sequence[Entry]) -> Layer:
    """A gzip layer of ``entries`` written into ``folder``."""
    raw = tar_of(entries)
    blob = gzip.compress(raw, mtime=0)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest[7:]}.tar.gz"
    path.write_bytes(blob)
    return Layer(digest=digest, size=len(blob), diff_id="sha256:" + hashlib.sha256(raw).hexdigest(),
                 uncompressed_size=len(raw), path=path)


def image_of(layers: Sequence[Layer], *, arch: str = "amd64") -> Image:
    """An image of ``layers`` with a real config."""
    platform = Platform(architecture=arch)
    config = config_bytes(
        platform=platform,
        runtime=RuntimeConfig(user="0", env=("PATH=/bin",), entrypoint=("/hello",),
                              working_dir="/"),
        diff_ids=[layer.diff_id for layer in layers],
        history=[HistoryEntry(f"layer {i}") for i in range(len(layers))], created=0,
    )
    return Image(config_bytes=config, layers=tuple(layers), platform=platform)
