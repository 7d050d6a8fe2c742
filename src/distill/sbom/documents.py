"""SBOM documents as bytes with their media types, cached per image.

:func:`sbom_documents` is the one entry point a build (and, later, referrer
attachment or signing) calls: it gives each format's document as a
:class:`Document`. The documents are cached under ``cache_root()/sboms`` by the
image digest and what the build told about it, so a warm build of an
unchanged image neither scans its layers nor imports the SBOM libraries.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from distill import __version__
from distill.debian.lock import LockedPackage
from distill.errors import ConfigError, FormatError
from distill.fsutil import atomic_write_bytes, cache_root
from distill.oci.model import Image
from distill.sbom.inventory import DebOrigin

SPDX = "spdx"
CYCLONEDX = "cyclonedx"
FORMATS = (SPDX, CYCLONEDX)
SUFFIXES = {SPDX: ".spdx.json", CYCLONEDX: ".cdx.json"}
MEDIA_TYPES = {SPDX: "application/spdx+json", CYCLONEDX: "application/vnd.cyclonedx+json"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Document:
    """One SBOM: its bytes, media type and a file name for it."""

    format: str
    media_type: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class BuildInfo:
    """What a build knows beyond the image: its name and where each .deb came from."""

    name: str
    origins: Mapping[tuple[str, str], DebOrigin] = field(default_factory=dict)
    """``(package, architecture)`` -> the .deb installed (from the lock or the plan)."""
    created: int = 0
    """SOURCE_DATE_EPOCH: the documents' creation time."""

    def fingerprint(self) -> str:
        """A digest of everything here, part of the cache key."""
        origins = sorted((list(key), asdict(origin)) for key, origin in self.origins.items())
        text = json.dumps([self.name, self.created, origins, __version__], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def origins_from_lock(packages: Sequence[LockedPackage]) -> dict[tuple[str, str], DebOrigin]:
    """The origins of the .debs a lock or plan pins, keyed by ``(name, architecture)``."""
    return {(p.name, p.architecture): DebOrigin(version=p.version, sha256=p.sha256,
                                                suite=p.suite, component=p.component,
                                                filename=p.filename)
            for p in packages}


def can_make(image: Image, build_info: BuildInfo, *, formats: Sequence[str] = FORMATS) -> bool:
    """Whether :func:`sbom_documents` can answer: from the cache, or from layer blobs on
    this machine (a build pushing to registries may reuse layers only they hold)."""
    if all(_cache_path(image, build_info, name).is_file() for name in formats):
        return True
    return all(layer.path.is_file() for layer in image.layers)


def check_format(name: str) -> str:
    """``name`` if it is an SBOM format; raise :class:`ConfigError` otherwise."""
    if name not in FORMATS:
        raise ConfigError(f"unknown SBOM format {name!r} (choose from {', '.join(FORMATS)})")
    return name


def sbom_documents(
    image: Image, build_info: BuildInfo, *, formats: Sequence[str] = FORMATS
) -> list[Document]:
    """The SBOMs of ``image`` in each of ``formats`` (SPDX 2.3 and CycloneDX 1.6 JSON)."""
    for name in formats:
        check_format(name)
    stem = f"{_UNSAFE.sub('-', build_info.name.rsplit('/', 1)[-1]) or 'image'}-" \
           f"{image.platform.architecture}"
    cached = {name: _cache_path(image, build_info, name) for name in formats}
    missing = [name for name in formats if not cached[name].is_file()]
    if missing:
        absent = [layer.digest for layer in image.layers if not layer.path.is_file()]
        if absent:
            raise FormatError(f"cannot make the SBOM of {image.digest}: layer {absent[0]} "
                              "is not on this machine (only its registry has it)")
        _generate(image, build_info, {name: cached[name] for name in missing})
    return [Document(format=name, media_type=MEDIA_TYPES[name],
                     filename=stem + SUFFIXES[name], data=cached[name].read_bytes())
            for name in formats]


def _generate(image: Image, build_info: BuildInfo, targets: Mapping[str, Path]) -> None:
    from distill.sbom.scan import scan_image

    inventory = scan_image(image, name=build_info.name, created=build_info.created,
                           origins=build_info.origins)
    for name, target in targets.items():
        if name == SPDX:
            from distill.sbom.spdx import write_spdx

            atomic_write_bytes(target, write_spdx(inventory))
        else:
            from distill.sbom.cyclonedx import write_cyclonedx

            atomic_write_bytes(target, write_cyclonedx(inventory))


def _cache_path(image: Image, build_info: BuildInfo, name: str) -> Path:
    digest = image.digest.partition(":")[2]
    return cache_root() / "sboms" / f"{digest}-{build_info.fingerprint()}.{name}.json"
