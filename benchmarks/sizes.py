"""Sizes of what the tools produce: tarballs, OCI layouts and images in the engine."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from common import BenchError, run
from distill.layers.compress import LEVEL, GzipHashWriter

_BLOCK = 1 << 20


@dataclass(frozen=True)
class TreeSize:
    """A root file system's size: bytes as tar and gzip, and what it holds."""

    uncompressed: int
    """Bytes of the tar (or the sum of the layer tars)."""
    compressed: int
    """Bytes of the gzip (or the sum of the layer blobs)."""
    layers: int
    entries: int
    """Every tar member: files, folders, links."""
    files: int
    """Regular files only."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return asdict(self)


class _Counter:
    """A byte sink that only counts."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes, /) -> int:
        self.count += len(data)
        return len(data)


def gzip_size(path: Path) -> int:
    """Bytes ``path`` takes gzipped the way distill compresses layers (ISA-L, same level)."""
    counter = _Counter()
    writer = GzipHashWriter(counter, level=LEVEL)
    with path.open("rb") as file:
        while block := file.read(_BLOCK):
            writer.write(block)
    writer.finish()
    return counter.count


def _members(stream: BinaryIO) -> tuple[int, int]:
    """(entries, regular files) of the tar read from ``stream``."""
    entries = files = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            entries += 1
            files += member.isreg()
    return entries, files


def tarball_size(path: Path) -> TreeSize:
    """Size of a plain tar file of a root file system."""
    with path.open("rb") as file:
        entries, files = _members(file)
    return TreeSize(uncompressed=path.stat().st_size, compressed=gzip_size(path), layers=1,
                    entries=entries, files=files)


def has_member(path: Path, name: str) -> bool:
    """Whether the tar file ``path`` holds a member called ``name`` (as ``./etc/...``)."""
    with tarfile.open(path, mode="r:") as tar:
        return any(member.name == name for member in tar)


def oci_image_size(layout: Path) -> TreeSize:
    """Size of the single-platform image an OCI layout folder holds (its first manifest)."""
    try:
        index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
        manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_bytes())
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise BenchError(f"cannot read the OCI layout {layout}: {exc}") from exc
    uncompressed = entries = files = compressed = 0
    for layer in manifest["layers"]:
        compressed += layer["size"]
        data = gzip.decompress(_blob(layout, layer["digest"]).read_bytes())
        uncompressed += len(data)
        more_entries, more_files = _members(io.BytesIO(data))
        entries += more_entries
        files += more_files
    return TreeSize(uncompressed=uncompressed, compressed=compressed,
                    layers=len(manifest["layers"]), entries=entries, files=files)


def _blob(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def engine_size(ref: str) -> int:
    """The size the Docker engine reports for the image ``ref`` (uncompressed, all layers)."""
    return int(run(["docker", "image", "inspect", "--format", "{{.Size}}", ref]).strip())
