"""Java archives: ``META-INF/maven/**/pom.properties`` (a maven purl) or, without a pom,
``META-INF/MANIFEST.MF``'s title and version."""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator

from distill.sbom import purls
from distill.sbom.image_files import FileRecord, ImageFiles
from distill.sbom.inventory import JAR, MAVEN, Package, PackageFile

_SUFFIXES = (".jar", ".war", ".ear")


def wants(path: str) -> bool:
    """Whether the Java scan reads the file at ``path``."""
    return path.endswith(_SUFFIXES)


def java_packages(files: ImageFiles) -> Iterator[Package]:
    """The packages each jar of the image describes (a fat jar may describe several)."""
    for record in files.files():
        if wants(record.path) and record.data is not None:
            yield from _jar(record)


def _jar(record: FileRecord) -> Iterator[Package]:
    owned = (PackageFile(path=record.path, sha1=record.sha1, sha256=record.sha256),)
    try:
        with zipfile.ZipFile(io.BytesIO(record.data or b"")) as archive:
            poms = sorted(n for n in archive.namelist()
                          if n.startswith("META-INF/maven/") and n.endswith("/pom.properties"))
            found = [_properties(archive.read(n).decode("utf-8", "replace")) for n in poms]
            manifest = _manifest(archive)
    except (zipfile.BadZipFile, OSError, KeyError):
        return
    described = False
    for pom in found:
        group, artifact, version = (pom.get(k, "") for k in ("groupId", "artifactId", "version"))
        if group and artifact and version:
            described = True
            yield Package(kind=MAVEN, name=f"{group}:{artifact}", version=version,
                          purl=purls.maven(group=group, artifact=artifact, version=version),
                          layer=record.layer, files=owned, found_at=record.path)
    if not described:
        title = manifest.get("Implementation-Title") or manifest.get("Bundle-SymbolicName") \
            or posixpath.basename(record.path).rsplit(".", 1)[0]
        version = manifest.get("Implementation-Version") or manifest.get("Bundle-Version", "")
        yield Package(kind=JAR, name=title, version=version, purl="", layer=record.layer,
                      files=owned, supplier=manifest.get("Implementation-Vendor", ""),
                      found_at=record.path)


def _properties(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith(("#", "!")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        pairs[key.strip()] = value.strip()
    return pairs


def _manifest(archive: zipfile.ZipFile) -> dict[str, str]:
    try:
        text = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except KeyError:
        return {}
    fields: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if line.startswith(" ") and last:
            fields[last] += line[1:]  # continuation lines
        elif ":" in line:
            last, _, value = line.partition(":")
            fields[last] = value.strip()
        elif not line:
            break  # only the main section
    return fields
