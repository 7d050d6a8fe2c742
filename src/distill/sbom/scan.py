"""Scanning an image into an :class:`~distill.sbom.inventory.Inventory`.

The layers are read once (whiteouts applied); then each ecosystem's scanner
reads the metadata it knows: Debian's status.d or dpkg database, Python's
dist-info, npm's package.json, jars and Go binaries' build information.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from distill.oci.model import Image
from distill.sbom import dpkg, gobuildinfo, jars, npm, python_dists
from distill.sbom.image_files import ImageFiles, read_image_files
from distill.sbom.inventory import DebOrigin, Inventory, LayerInfo

_OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


def scan_image(
    image: Image,
    *,
    name: str,
    created: int = 0,
    origins: Mapping[tuple[str, str], DebOrigin] | None = None,
) -> Inventory:
    """Everything an SBOM of ``image`` lists. ``origins`` (from a build's lock or plan)
    gives the .debs' SHA-256 and repository paths, keyed by ``(name, arch)``."""
    files = read_image_files(image, keep=_keep)
    distro = os_name(files)
    packages = [
        *dpkg.debian_packages(files, distro=distro, origins=origins or {}),
        *python_dists.python_packages(files),
        *npm.npm_packages(files),
        *jars.java_packages(files),
        *gobuildinfo.go_packages(files),
    ]
    return Inventory(
        name=name, image_digest=image.digest, architecture=image.platform.architecture,
        os_name=distro, created=created,
        layers=tuple(LayerInfo(digest=layer.digest, diff_id=layer.diff_id, size=layer.size)
                     for layer in image.layers),
        packages=tuple(sorted(packages, key=lambda p: p.key)),
    )


def os_name(files: ImageFiles) -> str:
    """``debian-12`` from os-release's ID and VERSION_ID, or empty when unknown."""
    for path in _OS_RELEASE:
        text = files.text(path)
        if text is None:
            continue
        fields = dict(_assignment(line) for line in text.splitlines() if "=" in line)
        if fields.get("ID") and fields.get("VERSION_ID"):
            return f"{fields['ID']}-{fields['VERSION_ID']}"
    return ""


def _assignment(line: str) -> tuple[str, str]:
    key, _, value = line.partition("=")
    try:
        words = shlex.split(value)
    except ValueError:
        words = [value]
    return key.strip(), " ".join(words)


def _keep(path: str, data: bytes) -> bool:
    return (path in _OS_RELEASE or dpkg.wants(path) or python_dists.wants(path)
            or npm.wants(path) or jars.wants(path) or gobuildinfo.wants(path, data))
