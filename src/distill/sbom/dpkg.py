"""Debian packages in an image: distroless ``status.d`` or a dpkg database.

``/var/lib/dpkg/status.d/<pkg>`` holds one control paragraph (with
``Conffiles:``) and ``<pkg>.md5sums`` the package's other files; a full
Debian image has ``/var/lib/dpkg/status`` and ``info/<pkg>[:<arch>].list``.
Either way every listed path that is a regular file of the image (symlinked
folders followed, so old /bin paths find merged-/usr files) belongs to the package.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from debian.deb822 import Deb822

from distill.sbom import purls
from distill.sbom.image_files import FileRecord, ImageFiles
from distill.sbom.inventory import DEB, DebOrigin, Package, PackageFile
from distill.sbom.licences import dep5_licences

STATUS_D = "/var/lib/dpkg/status.d/"
STATUS = "/var/lib/dpkg/status"
INFO = "/var/lib/dpkg/info/"


def wants(path: str) -> bool:
    """Whether the Debian scan reads the file at ``path``."""
    return (path.startswith((STATUS_D, INFO)) or path == STATUS
            or (path.startswith("/usr/share/doc/") and path.endswith("/copyright")))


def debian_packages(files: ImageFiles, *, distro: str,
                    origins: Mapping[tuple[str, str], DebOrigin]) -> Iterator[Package]:
    """Every Debian package the image records; ``origins`` maps ``(name, arch)`` to the
    .deb the build installed (its version must match to be used)."""
    seen: set[tuple[str, str]] = set()
    for record, paragraph, listed in _status_d(files):
        package = _package(files, record, paragraph, listed, distro=distro, origins=origins)
        seen.add((package.name, package.architecture))
        yield package
    for record, paragraph, listed in _dpkg_status(files):
        package = _package(files, record, paragraph, listed, distro=distro, origins=origins)
        if (package.name, package.architecture) not in seen:
            yield package


def _status_d(files: ImageFiles) -> Iterator[tuple[FileRecord, Deb822, list[str]]]:
    for record in files.files():
        if not record.path.startswith(STATUS_D) or record.path.endswith(".md5sums"):
            continue
        text = files.text(record.path) or ""
        paragraph = Deb822(text)
        if not paragraph.get("Package"):
            continue
        md5sums = files.text(record.path + ".md5sums") or ""
        listed = ["/" + line.split(None, 1)[1].lstrip("*") for line in md5sums.splitlines()
                  if len(line.split(None, 1)) == 2]
        yield record, paragraph, listed + _conffiles(paragraph)


def _dpkg_status(files: ImageFiles) -> Iterator[tuple[FileRecord, Deb822, list[str]]]:
    record = files.get(STATUS)
    text = files.text(STATUS)
    if record is None or text is None:
        return
    for paragraph in Deb822.iter_paragraphs(text):
        name = str(paragraph.get("Package", ""))
        status = str(paragraph.get("Status", "install ok installed")).split()
        if not name or status[-1:] != ["installed"]:
            continue
        arch = str(paragraph.get("Architecture", ""))
        listing = files.text(f"{INFO}{name}:{arch}.list") or files.text(f"{INFO}{name}.list")
        listed = (listing or "").splitlines()
        yield record, paragraph, listed + _conffiles(paragraph)


def _conffiles(paragraph: Deb822) -> list[str]:
    lines = str(paragraph.get("Conffiles", "")).splitlines()
    return [words[0] for words in (line.split() for line in lines) if words]


def _package(files: ImageFiles, record: FileRecord, paragraph: Deb822, listed: list[str], *,
             distro: str, origins: Mapping[tuple[str, str], DebOrigin]) -> Package:
    name = str(paragraph["Package"])
    version = str(paragraph.get("Version", ""))
    arch = str(paragraph.get("Architecture", ""))
    source = str(paragraph.get("Source", ""))
    origin = origins.get((name, arch))
    return Package(
        kind=DEB, name=name, version=version, architecture=arch, source=source,
        purl=purls.deb(name=name, version=version, arch=arch, distro=distro, source=source),
        layer=record.layer, licences=_licences(files, name),
        files=_owned(files, listed), supplier=str(paragraph.get("Maintainer", "")),
        origin=origin if origin is not None and origin.version == version else None,
        found_at=record.path,
    )


def _licences(files: ImageFiles, name: str) -> tuple[str, ...]:
    text = files.text(f"/usr/share/doc/{name}/copyright")
    return dep5_licences(text) if text else ()


def _owned(files: ImageFiles, listed: list[str]) -> tuple[PackageFile, ...]:
    owned: dict[str, PackageFile] = {}
    for path in listed:
        real = files.real_path(path)
        record = files.get(real) if real is not None else None
        if record is not None and record.kind == "file":
            owned[record.path] = PackageFile(path=record.path, sha1=record.sha1,
                                             sha256=record.sha256)
    return tuple(owned[p] for p in sorted(owned))
