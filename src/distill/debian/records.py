"""A binary package as a repository's Packages index describes it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackageRecord:
    """One paragraph of a Packages index, with where it came from.

    Relationship fields are kept as the raw strings of the index
    (``"libc6 (>= 2.34), libfoo | libbar"``); the resolver parses them.
    """

    name: str
    version: str
    architecture: str
    """The package's architecture: a Debian arch name or ``all``."""
    filename: str
    """Path of the .deb below the source's URI (``pool/main/...``)."""
    size: int
    sha256: str
    """Hex SHA-256 of the .deb."""
    suite: str
    component: str
    uri: str
    """Base URI of the source the record came from, without trailing slash."""
    depends: str = ""
    pre_depends: str = ""
    provides: str = ""
    conflicts: str = ""
    breaks: str = ""
    multi_arch: str = "no"
    essential: bool = False
    priority: str = ""
    source: str = ""
    """The source package name (Source field, or the package name)."""
