"""Python distributions: ``*.dist-info/METADATA`` and the files its ``RECORD`` lists."""

from __future__ import annotations

import email.parser
import posixpath
from collections.abc import Iterator

from distill.sbom import purls
from distill.sbom.image_files import ImageFiles
from distill.sbom.inventory import PYPI, Package, PackageFile


def wants(path: str) -> bool:
    """Whether the Python scan reads the file at ``path``."""
    folder, name = posixpath.split(path)
    return folder.endswith(".dist-info") and name in {"METADATA", "RECORD"}


def python_packages(files: ImageFiles) -> Iterator[Package]:
    """One package per ``dist-info`` folder with a METADATA naming it."""
    for record in files.files():
        if not (record.path.endswith(".dist-info/METADATA") and record.data is not None):
            continue
        # METADATA is UTF-8 (core metadata spec); parsing text keeps non-ASCII fields str.
        metadata = email.parser.HeaderParser().parsestr(record.data.decode("utf-8", "replace"))
        name, version = metadata.get("Name", ""), metadata.get("Version", "")
        if not name or not version:
            continue
        dist_info = posixpath.dirname(record.path)
        yield Package(
            kind=PYPI, name=name, version=version, purl=purls.pypi(name=name, version=version),
            layer=record.layer, licences=_licences(metadata),
            files=_recorded(files, dist_info), supplier=metadata.get("Author", "") or "",
            found_at=record.path,
        )


def _licences(metadata: email.message.Message) -> tuple[str, ...]:
    expression = metadata.get("License-Expression")
    if expression:
        return (expression.strip(),)
    text = (metadata.get("License") or "").strip()
    # A whole licence text in the field says nothing an identifier could.
    if text and "\n" not in text and len(text) <= 64:
        return (text,)
    return ()


def _recorded(files: ImageFiles, dist_info: str) -> tuple[PackageFile, ...]:
    site = posixpath.dirname(dist_info)
    text = files.text(posixpath.join(dist_info, "RECORD")) or ""
    owned: dict[str, PackageFile] = {}
    for line in text.splitlines():
        relative = line.rsplit(",", 2)[0].strip('"') if line.count(",") >= 2 else ""
        if not relative:
            continue
        record = files.resolve(posixpath.normpath(posixpath.join(site, relative)))
        if record is not None and record.kind == "file":
            owned[record.path] = PackageFile(path=record.path, sha1=record.sha1,
                                             sha256=record.sha256)
    return tuple(owned[p] for p in sorted(owned))
