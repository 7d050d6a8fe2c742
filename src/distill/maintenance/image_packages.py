"""The Debian packages an image holds, read from its layers' dpkg metadata.

Only a handful of paths are looked at: ``var/lib/dpkg/status.d/*`` (distroless
style, one control paragraph per file), ``var/lib/dpkg/status`` (dpkg's own
database) and ``etc/os-release`` / ``usr/lib/os-release`` for the release. The
layers are read in order with their whiteouts applied, so a file a later layer
deletes is not counted.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from debian.deb822 import Deb822

from distill.errors import FormatError
from distill.oci.blobs import READ_ERRORS, open_layer_tar
from distill.oci.model import Image

STATUS_DIR = "var/lib/dpkg/status.d/"
STATUS_FILE = "var/lib/dpkg/status"
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
_NOT_PARAGRAPHS = (".md5sums", ".conffiles", ".list")
# Debian's major version -> codename, for images without an os-release.
_CODENAMES = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky"}
_DEB_SUFFIX = re.compile(r"\+deb(\d+)u\d+")


@dataclass(frozen=True, kw_only=True)
class Installed:
    """One package the image's dpkg metadata lists as installed."""

    name: str
    version: str
    architecture: str
    source: str


@dataclass(frozen=True, kw_only=True)
class ImagePackages:
    """What an image says about its Debian packages."""

    packages: tuple[Installed, ...]
    release: str | None
    """VERSION_CODENAME of its os-release, else guessed from package versions; None if neither."""
    distribution: str | None = None
    """``ID`` of its os-release (``debian``), None without one."""


def read_image_packages(image: Image) -> ImagePackages:
    """The installed packages and the Debian release of ``image``.

    Raises FormatError when the image has no dpkg metadata at all.
    """
    files = _wanted_files(image)
    paragraphs = [text for path, text in sorted(files.items())
                  if path.startswith(STATUS_DIR) and not path.endswith(_NOT_PARAGRAPHS)]
    if STATUS_FILE not in files and not paragraphs:
        raise FormatError(
            "the image has no dpkg metadata (/var/lib/dpkg/status or /var/lib/dpkg/status.d/),"
            " so its Debian packages are unknown"
        )
    packages = _parse(paragraphs, status=files.get(STATUS_FILE))
    os_release = _os_release(files)
    return ImagePackages(packages=packages, release=_release(os_release, packages),
                         distribution=os_release.get("ID"))


def _wanted(path: str) -> bool:
    return path == STATUS_FILE or path.startswith(STATUS_DIR) or path in OS_RELEASE


def _wanted_files(image: Image) -> dict[str, str]:
    """The wanted paths' contents after every layer (a symlinked os-release is followed)."""
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    for layer in image.layers:
        try:
            with open_layer_tar(layer.path, layer.media_type) as stream, \
                    tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    _apply(tar, member, files=files, links=links)
        except (*READ_ERRORS, tarfile.TarError) as exc:
            raise FormatError(f"cannot read layer {layer.digest}: {exc}") from exc
    for path, target in links.items():
        resolved = str(PurePosixPath("/", path).parent / target).lstrip("/")
        if path not in files and resolved in files:
            files[path] = files[resolved]
    return files


def _apply(tar: tarfile.TarFile, member: tarfile.TarInfo, *, files: dict[str, str],
           links: dict[str, str]) -> None:
    path = member.name.removeprefix("./").lstrip("/")
    folder, _, base = path.rpartition("/")
    if base.startswith(".wh."):
        gone = folder if base == ".wh..wh..opq" else f"{folder}/{base[4:]}".lstrip("/")
        _remove(gone, files, links, keep_self=base == ".wh..wh..opq")
        return
    if not _wanted(path):
        return
    files.pop(path, None)
    links.pop(path, None)
    if member.issym():
        links[path] = member.linkname
    elif member.isfile():
        handle = tar.extractfile(member)
        if handle is not None:
            files[path] = handle.read().decode("utf-8", errors="replace")


def _remove(gone: str, files: dict[str, str], links: dict[str, str], *,
            keep_self: bool) -> None:
    prefix = f"{gone}/" if gone else ""
    for table in (files, links):
        for path in [p for p in table if p.startswith(prefix) or (p == gone and not keep_self)]:
            del table[path]


def _parse(paragraphs: Iterable[str], *, status: str | None) -> tuple[Installed, ...]:
    found: dict[tuple[str, str], Installed] = {}
    texts = [*paragraphs, *([status] if status is not None else [])]
    for text in texts:
        for paragraph in Deb822.iter_paragraphs(text.splitlines(keepends=True)):
            package = _installed(paragraph)
            if package is not None:
                found[(package.name, package.architecture)] = package
    return tuple(sorted(found.values(), key=lambda p: (p.name, p.architecture)))


def _installed(paragraph: Mapping[str, str]) -> Installed | None:
    name, version = paragraph.get("Package"), paragraph.get("Version")
    if not name or not version:
        return None
    # status.d paragraphs have no Status (installed); dpkg's database says it per package
    status = paragraph.get("Status", "install ok installed").split()
    if status[-1:] != ["installed"]:
        return None
    source = paragraph.get("Source", name).split()[0]
    return Installed(name=name, version=version,
                     architecture=paragraph.get("Architecture", "all"), source=source)


def _os_release(files: Mapping[str, str]) -> dict[str, str]:
    """The fields of the image's os-release (``/etc`` first, as systemd reads it)."""
    for path in OS_RELEASE:
        if path in files:
            fields = {}
            for line in files[path].splitlines():
                key, sign, value = line.partition("=")
                if sign:
                    fields[key.strip()] = value.strip().strip("\"'")
            return fields
    return {}


def _release(os_release: Mapping[str, str], packages: Iterable[Installed]) -> str | None:
    if os_release.get("VERSION_CODENAME"):
        return os_release["VERSION_CODENAME"]
    for package in packages:
        match = _DEB_SUFFIX.search(package.version)
        if match is not None and match.group(1) in _CODENAMES:
            return _CODENAMES[match.group(1)]
    return None
