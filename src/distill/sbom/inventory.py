"""What is inside an image: its layers, its packages of every kind, their files.

The inventory is plain data; the SPDX and CycloneDX writers turn the same
inventory into their documents, so both always describe the same things.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

DEB = "deb"
PYPI = "pypi"
NPM = "npm"
MAVEN = "maven"
JAR = "jar"
GOLANG = "golang"

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class PackageFile:
    """A regular file a package put in the image."""

    path: str
    sha1: str
    sha256: str


@dataclass(frozen=True)
class DebOrigin:
    """Where a .deb came from, when the build knows it (from the lock or the plan)."""

    version: str
    sha256: str
    """SHA-256 of the .deb file."""
    suite: str = ""
    component: str = ""
    filename: str = ""
    """The .deb's path in the repository (``pool/main/...``), as the signed index names it."""


@dataclass(frozen=True)
class Package:
    """One package of any ecosystem found in the image."""

    kind: str
    """:data:`DEB`, :data:`PYPI`, :data:`NPM`, :data:`MAVEN`, :data:`JAR` or :data:`GOLANG`."""
    name: str
    version: str
    purl: str
    """The package URL, or an empty string when there is none (a jar without a pom)."""
    layer: int
    """Index of the layer whose metadata names the package."""
    licences: tuple[str, ...] = ()
    """Licence identifiers as found (SPDX ids, or names the writers turn into LicenseRef-)."""
    files: tuple[PackageFile, ...] = ()
    architecture: str = ""
    source: str = ""
    """Debian source package (``name`` or ``name (version)``)."""
    supplier: str = ""
    """Maintainer or author, when the metadata names one."""
    origin: DebOrigin | None = None
    checksum: str = ""
    """A Go module's ``h1:`` sum."""
    found_at: str = ""
    """The metadata file or binary the package was read from."""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Sort key: the same inventory always lists packages in the same order."""
        return (self.kind, self.name, self.version, self.architecture, self.found_at)


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the image."""

    digest: str
    diff_id: str
    size: int


@dataclass(frozen=True)
class Inventory:
    """Everything an SBOM says about one image."""

    name: str
    image_digest: str
    architecture: str
    os_name: str
    """``ID-VERSION_ID`` from os-release (``debian-12``), or empty."""
    layers: tuple[LayerInfo, ...]
    packages: tuple[Package, ...] = field(default_factory=tuple)
    created: int = 0
    """Seconds since the epoch (SOURCE_DATE_EPOCH), the documents' creation time."""


def element_id(package: Package) -> str:
    """A stable identifier of ``package`` in a document (letters, digits, ``.`` and ``-``),
    the same in SPDX (after ``SPDXRef-``) and CycloneDX (``bom-ref``)."""
    digest = hashlib.sha256("\0".join(package.key).encode()).hexdigest()[:12]
    readable = _UNSAFE.sub("-", f"{package.kind}-{package.name}").strip("-")[:60]
    return f"Package-{readable}-{digest}"


def file_id(path: str) -> str:
    """A stable identifier of the file at ``path``."""
    return "File-" + hashlib.sha256(path.encode()).hexdigest()[:16]
