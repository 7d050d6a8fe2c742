"""Hand-made distroless-style images (``status.d``) for the inspect and diff tests."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from distill.oci.blobs import open_layer_tar
from distill.oci.config import RuntimeConfig
from distill.oci.model import Image, Layer
from distill.oci.mutate import with_runtime
from support.sbom import Entry, image_of, tar_layer


def status_d(name: str, version: str, files: Mapping[str, bytes]) -> list[Entry]:
    """A package's files, its ``status.d`` paragraph and its md5sums (dummy sums)."""
    paragraph = (f"Package: {name}\nVersion: {version}\nArchitecture: amd64\n"
                 f"Description: test package {name}\n")
    md5sums = "".join(f"{'0' * 32}  {path.lstrip('/')}\n" for path in files)
    return [
        *(Entry(path.lstrip("/"), data) for path, data in files.items()),
        Entry(f"var/lib/dpkg/status.d/{name}", paragraph.encode()),
        Entry(f"var/lib/dpkg/status.d/{name}.md5sums", md5sums.encode()),
    ]


def package_image(blobs: Path, packages: Sequence[tuple[str, str, Mapping[str, bytes]]],
                  app: Mapping[str, bytes], *, env: tuple[str, ...] = ()) -> Image:
    """One layer of Debian packages (``(name, version, files)``), one of app files."""
    base = [entry for name, version, files in packages
            for entry in status_d(name, version, files)]
    layers = [tar_layer(blobs, base),
              tar_layer(blobs, [Entry(path.lstrip("/"), data) for path, data in app.items()])]
    return with_runtime(image_of(layers), RuntimeConfig(env=env, entrypoint=("/app",)))


def regular_file_bytes(layer: Layer) -> int:
    """The sum of the sizes of ``layer``'s regular files, read with tarfile directly."""
    with open_layer_tar(layer.path, layer.media_type) as stream, \
            tarfile.open(fileobj=stream, mode="r|") as tar:
        return sum(info.size for info in tar if info.isreg())


def tar_member_names(data: bytes) -> list[str]:
    """The member names of an uncompressed tar."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()
