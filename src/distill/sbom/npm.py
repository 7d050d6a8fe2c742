"""npm packages: ``node_modules/[@scope/]NAME/package.json`` and the files under it."""

from __future__ import annotations

import bisect
import json
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from distill.sbom import purls
from distill.sbom.image_files import FileRecord, ImageFiles
from distill.sbom.inventory import NPM, Package, PackageFile

_MANIFEST = re.compile(r"/node_modules/(?:@[^/]+/)?[^/@][^/]*/package\.json$")


def wants(path: str) -> bool:
    """Whether the npm scan reads the file at ``path``."""
    return _MANIFEST.search(path) is not None


def npm_packages(files: ImageFiles) -> Iterator[Package]:
    """One package per ``package.json`` directly inside a ``node_modules`` folder."""
    everything = list(files.files())  # sorted by path
    paths = [f.path for f in everything]
    for record in everything:
        if not wants(record.path) or record.data is None:
            continue
        manifest = _parse(record.data)
        name, version = manifest.get("name"), manifest.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name:
            continue
        folder = posixpath.dirname(record.path) + "/"
        owned = [PackageFile(path=f.path, sha1=f.sha1, sha256=f.sha256)
                 for f in _under(everything, paths, folder)
                 if "/node_modules/" not in f.path[len(folder) - 1:]]
        yield Package(
            kind=NPM, name=name, version=version, purl=purls.npm(name=name, version=version),
            layer=record.layer, licences=_licences(manifest), files=tuple(owned),
            supplier=_author(manifest), found_at=record.path,
        )


def _under(everything: list[FileRecord], paths: list[str], folder: str) -> list[FileRecord]:
    start = bisect.bisect_left(paths, folder)
    end = bisect.bisect_left(paths, folder[:-1] + "0")  # "0" sorts right after "/"
    return everything[start:end]


def _parse(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _licences(manifest: dict[str, Any]) -> tuple[str, ...]:
    licence = manifest.get("license")
    if isinstance(licence, dict):
        licence = licence.get("type")
    return (licence,) if isinstance(licence, str) and licence else ()


def _author(manifest: dict[str, Any]) -> str:
    author = manifest.get("author")
    if isinstance(author, dict):
        author = author.get("name")
    return author if isinstance(author, str) else ""
