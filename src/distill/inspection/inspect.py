"""Inspecting any image: config, history, and what each layer and package costs.

A layer's size here is the sum of its regular files' sizes (what it unpacks to,
without tar headers), split by the Debian package that owns each file (from
``status.d`` or the dpkg database, read by :mod:`distill.sbom.dpkg`) plus the
bytes no package owns: the app's own files and generated ones. Owned plus
unowned is the layer's size exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distill.inspection.layer_files import LayerFile, read_layer_files
from distill.oci.model import Image
from distill.sbom import dpkg
from distill.sbom.image_files import ImageFiles, read_image_files
from distill.sbom.inventory import Package
from distill.sbom.scan import os_name

LARGEST = 20
_OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


@dataclass(frozen=True)
class OwnedFile:
    """A regular file of one layer and the package that owns it (``""``: none)."""

    path: str
    size: int
    sha256: str
    package: str
    layer: int


@dataclass(frozen=True)
class LayerReport:
    """One layer: its digests, what made it, and its bytes by package."""

    index: int
    digest: str
    diff_id: str
    compressed_size: int
    created_by: str
    files: tuple[OwnedFile, ...]
    packages: Mapping[str, int]
    """Package -> bytes of the files it owns in this layer, largest first."""

    @property
    def size(self) -> int:
        """The sum of the layer's regular file sizes."""
        return sum(f.size for f in self.files)

    @property
    def unowned(self) -> int:
        """Bytes of the layer's files no package owns."""
        return sum(f.size for f in self.files if not f.package)


@dataclass(frozen=True)
class PackageReport:
    """A Debian package and what it costs in the final image."""

    name: str
    """The package name (``name:arch`` when two architectures of it are installed)."""
    version: str
    architecture: str
    layer: int
    """The layer whose metadata names the package."""
    size: int
    """Bytes of its files in the final image."""
    files: int


@dataclass(frozen=True)
class Inspection:
    """Everything ``distill inspect`` shows about one image."""

    digest: str
    architecture: str
    os: str
    distro: str
    """``debian-12`` from os-release, or empty."""
    config: Mapping[str, Any]
    layers: tuple[LayerReport, ...]
    packages: tuple[PackageReport, ...]
    """Largest first."""
    largest: tuple[OwnedFile, ...]
    """The largest files of the final image."""

    @property
    def size(self) -> int:
        """The sum of the layers' sizes."""
        return sum(layer.size for layer in self.layers)

    @property
    def compressed_size(self) -> int:
        """The sum of the layer blobs' sizes."""
        return sum(layer.compressed_size for layer in self.layers)

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document (its shape is documented in the README)."""
        return {
            "image": {"digest": self.digest, "architecture": self.architecture, "os": self.os,
                      "distro": self.distro, "size": self.size,
                      "compressed_size": self.compressed_size,
                      "layers": len(self.layers), "packages": len(self.packages)},
            "config": dict(self.config.get("config") or {}),
            "history": list(self.config.get("history") or []),
            "layers": [_layer_json(layer) for layer in self.layers],
            "packages": [{"name": p.name, "version": p.version, "architecture": p.architecture,
                          "layer": p.layer, "size": p.size, "files": p.files}
                         for p in self.packages],
            "largest": [{"path": f.path, "size": f.size, "layer": f.layer,
                         "package": f.package or None} for f in self.largest],
        }


def _layer_json(layer: LayerReport) -> dict[str, Any]:
    return {"index": layer.index, "digest": layer.digest, "diff_id": layer.diff_id,
            "compressed_size": layer.compressed_size, "size": layer.size,
            "files": len(layer.files), "created_by": layer.created_by,
            "packages": dict(layer.packages), "unowned": layer.unowned}


def inspect_image(image: Image) -> Inspection:
    """Inspect ``image`` (its layer blobs must be on this machine); raise
    :class:`~distill.errors.FormatError` for a layer that cannot be read."""
    files = read_image_files(image, keep=_keep)
    packages = list(dpkg.debian_packages(files, distro="", origins={}))
    names = _package_names(packages)
    owners = _owners(packages, names)
    created_by = _created_by(image.config)
    layers = tuple(
        _layer_report(index, layer.digest, layer.diff_id, layer.size,
                      created_by[index] if index < len(created_by) else "",
                      read_layer_files(layer), owners=owners, files=files)
        for index, layer in enumerate(image.layers))
    largest = sorted(files.files(), key=lambda r: (-r.size, r.path))[:LARGEST]
    return Inspection(
        digest=image.digest, architecture=image.platform.architecture, os=image.platform.os,
        distro=os_name(files), config=image.config, layers=layers,
        packages=_package_reports(packages, names, files),
        largest=tuple(OwnedFile(path=r.path, size=r.size, sha256=r.sha256, layer=r.layer,
                                package=owners.get(r.path, "")) for r in largest),
    )


def _keep(path: str, data: bytes) -> bool:
    return path in _OS_RELEASE or dpkg.wants(path)


def _package_names(packages: list[Package]) -> dict[int, str]:
    """Each package's display name: its name, or ``name:arch`` when the name repeats."""
    counts = Counter(p.name for p in packages)
    return {id(p): p.name if counts[p.name] == 1 else f"{p.name}:{p.architecture}"
            for p in packages}


def _owners(packages: list[Package], names: Mapping[int, str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for package in packages:
        for owned in package.files:
            owners.setdefault(owned.path, names[id(package)])
    return owners


def _created_by(config: Mapping[str, Any]) -> list[str]:
    """The ``created_by`` of each history entry that made a layer, in order."""
    history = config.get("history") or []
    return [str(entry.get("created_by", "")) for entry in history
            if isinstance(entry, dict) and not entry.get("empty_layer")]


def _layer_report(index: int, digest: str, diff_id: str, compressed: int, created_by: str,
                  layer_files: tuple[LayerFile, ...], *, owners: Mapping[str, str],
                  files: ImageFiles) -> LayerReport:
    owned = tuple(OwnedFile(path=f.path, size=f.size, sha256=f.sha256, layer=index,
                            package=_owner(f.path, owners, files)) for f in layer_files)
    by_package: Counter[str] = Counter()
    for entry in owned:
        if entry.package:
            by_package[entry.package] += entry.size
    ordered = dict(sorted(by_package.items(), key=lambda item: (-item[1], item[0])))
    return LayerReport(index=index, digest=digest, diff_id=diff_id, compressed_size=compressed,
                       created_by=created_by, files=owned, packages=ordered)


def _owner(path: str, owners: Mapping[str, str], files: ImageFiles) -> str:
    if path in owners:
        return owners[path]
    real = files.real_path(path)
    return owners.get(real, "") if real is not None else ""


def _package_reports(packages: list[Package], names: Mapping[int, str],
                     files: ImageFiles) -> tuple[PackageReport, ...]:
    reports = []
    for package in packages:
        sizes = [record.size for f in package.files if (record := files.get(f.path)) is not None]
        reports.append(PackageReport(name=names[id(package)], version=package.version,
                                     architecture=package.architecture, layer=package.layer,
                                     size=sum(sizes), files=len(sizes)))
    return tuple(sorted(reports, key=lambda p: (-p.size, p.name)))
