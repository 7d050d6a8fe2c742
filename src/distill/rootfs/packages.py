"""Installing a Debian package into a file tree, the way distroless does.

No maintainer script runs. The package's data.tar is mapped into the tree
through the merged-/usr layout, leaving out what the ``drop`` predicate names;
then the metadata scanners read is written: ``/var/lib/dpkg/status.d/<pkg>``
(the control paragraph, field order kept) and ``/var/lib/dpkg/status.d/<pkg>.md5sums``
(restricted to the files actually shipped, with merged-/usr paths).

The paragraph gains a ``Conffiles:`` field as dpkg writes it (`` /etc/foo <md5>``
lines) for the package's configuration files that are shipped: dpkg leaves
them out of md5sums, so without it scanners cannot attribute them.

Trivy and syft read every file of ``status.d`` except ``*.md5sums`` as dpkg
status paragraphs; a paragraph without a ``Status`` field counts as installed
for both, so none is added (distroless adds none either).
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from debian.deb822 import Deb822

from distill.debian.deb import DataMember, DebArchive
from distill.errors import FormatError
from distill.rootfs import slim
from distill.rootfs.merged_usr import MERGED_DIRS, canonical_path, moved_link_target
from distill.rootfs.tree import FileTree, Kind, normalize

STATUS_DIR = "/var/lib/dpkg/status.d"


@dataclass(frozen=True)
class InstalledPackage:
    """What :func:`install_deb` put into a tree, for reports and lock files."""

    name: str
    version: str
    architecture: str
    files: int
    """Regular files and hard links installed (dropped ones not counted)."""
    size: int
    """Bytes of the regular files installed."""


@dataclass(frozen=True)
class _Control:
    name: str
    version: str
    architecture: str


def install_deb(
    tree: FileTree,
    deb: DebArchive,
    *,
    drop: Callable[[str], bool] = slim.is_dropped,
) -> InstalledPackage:
    """Unpack ``deb`` into ``tree`` and record it in ``/var/lib/dpkg/status.d``."""
    control = _parse_control(deb.control)
    unpacker = _Unpacker(tree=tree, package=control.name, drop=drop)
    for member in deb.members():
        unpacker.unpack(member)
    _write_status(tree, control.name, deb, unpacker.shipped)
    return InstalledPackage(
        name=control.name,
        version=control.version,
        architecture=control.architecture,
        files=len(unpacker.shipped),
        size=unpacker.size,
    )


def status_text(control: str) -> bytes:
    """The ``status.d/<pkg>`` file for a control paragraph: the paragraph, one final newline."""
    return (control.strip("\n") + "\n").encode()


def restricted_md5sums(md5sums: str, shipped: set[str]) -> bytes:
    """The lines of ``md5sums`` whose file is in ``shipped`` (absolute merged-/usr
    paths), with their paths rewritten to the merged layout."""
    lines: list[str] = []
    for line in md5sums.splitlines():
        digest, sep, rel = line.partition(" ")
        rel = rel.lstrip(" *")
        if not sep or not rel:
            continue
        path = canonical_path(rel)
        if path in shipped:
            lines.append(f"{digest}  {path[1:]}\n")
    return "".join(lines).encode()


def is_merged_usr_link(path: str, info: tarfile.TarInfo) -> bool:
    """True for a packaged top-level link such as ``/bin -> usr/bin``.

    Raises :class:`FormatError` for a top-level merged folder linked elsewhere.
    """
    name = path.lstrip("/")
    if name not in MERGED_DIRS or not info.issym():
        return False
    if normalize(info.linkname) != f"/usr/{name}":
        raise FormatError(f"{path} links to {info.linkname}, not to usr/{name}")
    return True


def _parse_control(text: str) -> _Control:
    paragraph = Deb822(text)
    missing = [k for k in ("Package", "Version", "Architecture") if not paragraph.get(k)]
    if missing:
        raise FormatError(f"package control file lacks {', '.join(missing)}")
    return _Control(
        name=str(paragraph["Package"]),
        version=str(paragraph["Version"]),
        architecture=str(paragraph["Architecture"]),
    )


def with_conffiles(control: str, conffiles: Sequence[tuple[str, str]]) -> str:
    """``control`` with a ``Conffiles:`` field of ``(path, md5)`` pairs, placed before
    ``Description:`` as dpkg places it (at the end when there is none)."""
    lines = control.strip("\n").split("\n")
    if not conffiles:
        return "\n".join(lines) + "\n"
    field = ["Conffiles:", *(f" {path} {md5}" for path, md5 in conffiles)]
    at = next((i for i, line in enumerate(lines) if line.startswith("Description:")),
              len(lines))
    return "\n".join([*lines[:at], *field, *lines[at:]]) + "\n"


def shipped_conffiles(tree: FileTree, conffiles: str, shipped: set[str]) -> list[tuple[str, str]]:
    """``(path, md5)`` of the package's conffiles that are in ``shipped``, in listed order."""
    found: list[tuple[str, str]] = []
    for line in conffiles.splitlines():
        words = line.split()
        # dpkg >= 1.20 allows flags ("remove-on-upgrade") before the path.
        path = canonical_path(words[-1]) if words else ""
        entry = tree.get(path) if path in shipped else None
        if entry is not None and entry.kind is Kind.FILE:
            found.append((path, hashlib.md5(entry.data).hexdigest()))
    return found


def _write_status(tree: FileTree, name: str, deb: DebArchive, shipped: set[str]) -> None:
    conffiles = shipped_conffiles(tree, deb.conffiles, shipped)
    tree.add_file(f"{STATUS_DIR}/{name}", status_text(with_conffiles(deb.control, conffiles)),
                  mode=0o644)
    md5sums = restricted_md5sums(deb.md5sums, shipped)
    if md5sums:
        tree.add_file(f"{STATUS_DIR}/{name}.md5sums", md5sums, mode=0o644)


class _Unpacker:
    """Maps data.tar members of one package into a tree."""

    def __init__(self, *, tree: FileTree, package: str, drop: Callable[[str], bool]) -> None:
        self.tree = tree
        self.package = package
        self.drop = drop
        self.shipped: set[str] = set()
        self.size = 0
        # Contents of dropped files, in case a kept hard link points to one.
        self._dropped: dict[str, DataMember] = {}

    def unpack(self, member: DataMember) -> None:
        info = member.info
        name = info.name.removeprefix("./").strip("/")
        if not name or name == ".":
            return
        old = normalize(name)
        if is_merged_usr_link(old, info):
            return  # trixie's base-files ships them; add_merged_usr_links adds ours
        new = canonical_path(old)
        if self.drop(new):
            if info.isreg():
                self._dropped[new] = member
            return
        self._check_no_dir_clash(new, info)
        if info.isdir():
            self.tree.add_dir(new, mode=info.mode & 0o7777, uid=info.uid, gid=info.gid)
        elif info.isreg():
            self._add_file(new, member)
        elif info.issym():
            target = moved_link_target(old, new, info.linkname)
            self.tree.add_symlink(new, target, uid=info.uid, gid=info.gid)
        elif info.islnk():
            self._add_hardlink(new, info)
        else:
            raise FormatError(f"package {self.package}: {old} is a device or fifo, not supported")

    def _add_file(self, path: str, member: DataMember) -> None:
        info = member.info
        self.tree.add_file(
            path, member.data, mode=info.mode & 0o7777, uid=info.uid, gid=info.gid
        )
        self.shipped.add(path)
        self.size += len(member.data)

    def _add_hardlink(self, path: str, info: tarfile.TarInfo) -> None:
        target = canonical_path(info.linkname.removeprefix("./"))
        existing = self.tree.get(target)
        if existing is not None and existing.kind is Kind.FILE:
            self.tree.add_hardlink(path, target)
            self.shipped.add(path)
        elif target in self._dropped:
            # The link's target was dropped: keep the link's path as a plain copy.
            self._add_file(path, self._dropped[target])
        else:
            raise FormatError(
                f"package {self.package}: hard link {path} points to {target}, "
                "which the package does not ship"
            )

    def _check_no_dir_clash(self, path: str, info: tarfile.TarInfo) -> None:
        existing = self.tree.get(path)
        if existing is not None and existing.kind is Kind.DIR and not info.isdir():
            raise FormatError(
                f"package {self.package}: {path} is a folder in the tree but not in the package"
            )
