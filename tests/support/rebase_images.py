"""Hand-made bases and an app built on one of them, for the rebase tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.oci.config import HistoryEntry, RuntimeConfig
from distill.oci.model import Image, Layer, Platform
from distill.oci.mutate import Addendum, append_layers, empty_image, with_annotations, with_runtime
from support.layer_tars import Entry, gzip_layer

OLD_RUNTIME = RuntimeConfig(user="65532:65532", working_dir="/home/nonroot",
                            env=("PATH=/usr/bin:/bin", "OLD=1"))
NEW_RUNTIME = RuntimeConfig(user="65532:65532", working_dir="/home/nonroot",
                            env=("PATH=/usr/local/bin:/usr/bin:/bin", "NEW=1"))
APP_RUNTIME = RuntimeConfig(user="65532:65532", working_dir="/home/nonroot",
                            env=("PATH=/usr/bin:/bin", "OLD=1", "TZ=UTC"),
                            entrypoint=("/app/hello",))


def image(layers: Sequence[Layer], runtime: RuntimeConfig, *, arch: str = "amd64",
          names: Sequence[str] = (), annotations: Mapping[str, str] | None = None,
          start: Image | None = None) -> Image:
    """``start`` (or an empty image) with ``layers`` on top, ``runtime`` and ``annotations``."""
    base = start or empty_image(Platform(architecture=arch), created=0)
    names = list(names) or [f"step {i}" for i in range(len(layers))]
    made = append_layers(base, [Addendum(layer, HistoryEntry(name))
                                for layer, name in zip(layers, names, strict=True)])
    return with_annotations(with_runtime(made, runtime), annotations or {})


def base_annotations(base: Image, name: str) -> dict[str, str]:
    """The annotations distill writes on an image built on ``base`` named ``name``."""
    return {"org.opencontainers.image.base.name": name,
            "org.opencontainers.image.base.digest": base.digest,
            "io.distill.base.layers": str(len(base.layers))}


@dataclass(frozen=True)
class Images:
    """An old base, an app built on it, and a new base."""

    old_base: Image
    app: Image
    new_base: Image


def make_images(folder: Path, *, arch: str = "amd64", new_runtime: RuntimeConfig = NEW_RUNTIME,
                base_name: str = "oci:old:base") -> Images:
    """Old base (2 layers), app (+1 layer), new base (2 layers, one of them changed)."""
    first = gzip_layer(folder, [Entry("etc/os-release", data=f"{arch} 1".encode())])
    old_libs = gzip_layer(folder, [Entry("lib/libc.so", data=f"{arch} old libc".encode())])
    new_libs = gzip_layer(folder, [Entry("lib/libc.so", data=f"{arch} new libc".encode())])
    app_layer = gzip_layer(folder, [Entry("app", kind="dir"),
                                    Entry("app/hello", data=f"{arch} hello".encode())])
    old_base = image([first, old_libs], OLD_RUNTIME, arch=arch, names=["os", "libc 1"])
    new_base = image([first, new_libs], new_runtime, arch=arch, names=["os", "libc 2"])
    app = image([app_layer], APP_RUNTIME, start=old_base, names=["app files"],
                annotations=base_annotations(old_base, base_name))
    return Images(old_base=old_base, app=app, new_base=new_base)
