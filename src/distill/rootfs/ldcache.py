"""``/etc/ld.so.cache`` written natively, byte for byte as glibc's ldconfig writes it.

Debian's libc-bin runs ``ldconfig`` from a trigger; distill runs nothing inside
the image, so it does ldconfig's work here, following glibc 2.36 (bookworm) and
2.41 (trixie), whose cache files have the same layout:

- the folders searched are those of ``/etc/ld.so.conf`` (with its ``include``
  globs), then the trusted folders ``/lib/<triplet>``, ``/usr/lib/<triplet>``,
  ``/lib`` and ``/usr/lib``; a folder reached twice (``/lib`` is a link to
  ``usr/lib`` on merged-/usr trees) is searched once, under the first name seen;
- in each folder, files and links named like a library (``lib*.so*``, ``ld-*.so*``)
  that are ELF shared objects of the architecture are keyed by their DT_SONAME
  (a link named like the soname, or a ``libfoo.so`` development link, keys by
  its own name); each key maps to ``<folder>/<key>``;
- entries are sorted and encoded by :mod:`distill.rootfs.ldcache_format`;
  sonames are read by :mod:`distill.rootfs.shared_object`.

The ``dir=TYPE`` suffix of a configuration line is dropped as glibc 2.36 does
(2.41 no longer knows the syntax and takes the line as a folder name, which
then does not exist). Not reproduced: ``glibc-hwcaps/`` and legacy hwcap subfolders (``tls``,
``haswell``...), which Debian's runtime libraries do not use, and libraries of a
foreign ABI (i386 or x32 on amd64, 32-bit Arm on arm64), which ldconfig lists
too but a distroless tree never holds.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from distill.errors import ConfigError, FormatError
from distill.rootfs.ldcache_format import (
    FLAG_AARCH64_LIB64,
    FLAG_ELF_LIBC6,
    FLAG_X8664_LIB64,
    GENERATOR,
    CacheEntry,
    dl_cache_libcmp,
    encode_cache,
    sorted_entries,
)
from distill.rootfs.shared_object import SharedObject, shared_object
from distill.rootfs.tree import FileTree, Kind

__all__ = [
    "GENERATOR",
    "LD_SO_CACHE",
    "LD_SO_CONF",
    "LD_SO_CONF_TEXT",
    "LIBC_CONF",
    "LIBC_CONF_TEXT",
    "CacheEntry",
    "SharedObject",
    "add_ld_so_cache",
    "cache_entries",
    "dl_cache_libcmp",
    "encode_cache",
    "ld_so_cache",
    "shared_object",
]

LD_SO_CACHE = "/etc/ld.so.cache"
LD_SO_CONF = "/etc/ld.so.conf"
LD_SO_CONF_TEXT = b"include /etc/ld.so.conf.d/*.conf\n\n"
"""``/etc/ld.so.conf`` as Debian's libc-bin ships it."""
LIBC_CONF = "/etc/ld.so.conf.d/libc.conf"
LIBC_CONF_TEXT = b"# libc default configuration\n/usr/local/lib\n"
"""``/etc/ld.so.conf.d/libc.conf`` as Debian's libc-bin ships it."""
_MAX_INCLUDE_DEPTH = 16


@dataclass(frozen=True)
class _Arch:
    triplet: str
    machine: int
    flags: int


_ARCHS = {
    "amd64": _Arch("x86_64-linux-gnu", 62, FLAG_ELF_LIBC6 | FLAG_X8664_LIB64),
    "arm64": _Arch("aarch64-linux-gnu", 183, FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64),
}


@dataclass(frozen=True)
class _Library:
    """A library found in one folder: its key, the file name and whether it is a link."""

    soname: str
    name: str
    is_link: bool


@dataclass(frozen=True)
class _SearchDir:
    path: str
    """The folder as configured; cache paths start with it."""
    real: str
    """The folder in the tree, links resolved."""


def ld_so_cache(tree: FileTree, *, arch: str, generator: str = GENERATOR) -> bytes:
    """The ``/etc/ld.so.cache`` ldconfig would write for ``tree`` (arch ``amd64`` or ``arm64``)."""
    return encode_cache(cache_entries(tree, arch=arch), generator=generator)


def add_ld_so_cache(tree: FileTree, *, arch: str, generator: str = GENERATOR) -> None:
    """Do what libc-bin's ldconfig trigger does to ``tree``, without running it.

    Adds ``/etc/ld.so.conf`` and ``/etc/ld.so.conf.d/libc.conf`` when missing,
    removes dangling ``*.so.*`` links from the searched folders and adds the
    soname links a library lacks (as ldconfig does), then writes
    ``/etc/ld.so.cache`` (0644).
    """
    for path, text in ((LD_SO_CONF, LD_SO_CONF_TEXT), (LIBC_CONF, LIBC_CONF_TEXT)):
        if tree.get(path) is None:
            tree.add_file(path, text, mode=0o644)
    spec = _arch(arch)
    _remove_stale_links(tree, spec)
    for folder, libraries in _scan(tree, spec):
        for library in libraries:
            link = posixpath.join(folder.real, library.soname)
            if not library.is_link and library.soname != library.name and tree.get(link) is None:
                tree.add_symlink(link, library.name)
    tree.add_file(LD_SO_CACHE, ld_so_cache(tree, arch=arch, generator=generator), mode=0o644)


def cache_entries(tree: FileTree, *, arch: str) -> list[CacheEntry]:
    """The entries of the cache for ``tree``, in the order ldconfig writes them."""
    spec = _arch(arch)
    entries = [
        CacheEntry(soname=lib.soname, path=f"{folder.path}/{lib.soname}", flags=spec.flags)
        for folder, libraries in _scan(tree, spec)
        for lib in libraries
    ]
    return sorted_entries(entries)


# --- scanning the tree -----------------------------------------------------


def _arch(arch: str) -> _Arch:
    spec = _ARCHS.get(arch)
    if spec is None:
        raise ConfigError(f"ld.so.cache: unknown architecture {arch!r} (known: amd64, arm64)")
    return spec


def _scan(tree: FileTree, spec: _Arch) -> Iterator[tuple[_SearchDir, list[_Library]]]:
    listing = _Listing(tree)
    for folder in _search_dirs(tree, listing, spec):
        yield folder, _scan_dir(tree, listing, folder, spec)


def _remove_stale_links(tree: FileTree, spec: _Arch) -> None:
    listing = _Listing(tree)
    for folder in _search_dirs(tree, listing, spec):
        for name in listing.children(folder.real):
            path = posixpath.join(folder.real, name)
            entry = tree.get(path)
            if (_is_dso(name) and ".so." in name and entry is not None
                    and entry.kind is Kind.SYMLINK and tree.resolve(path) is None):
                tree.remove(path)


def _search_dirs(tree: FileTree, listing: _Listing, spec: _Arch) -> list[_SearchDir]:
    trusted = [f"/lib/{spec.triplet}", f"/usr/lib/{spec.triplet}", "/lib", "/usr/lib"]
    found: list[_SearchDir] = []
    seen: set[str] = set()
    for path in _conf_dirs(tree, listing, LD_SO_CONF, depth=0) + trusted:
        real = tree.resolve(path)
        if real is None or real in seen or _kind(tree, real) is not Kind.DIR:
            continue
        seen.add(real)
        found.append(_SearchDir(path=path, real=real))
    return found


def _conf_dirs(tree: FileTree, listing: _Listing, conf: str, *, depth: int) -> list[str]:
    """The folders a configuration file names, includes expanded, in order."""
    if depth > _MAX_INCLUDE_DEPTH:
        raise FormatError(f"{conf}: ld.so.conf includes nest more than {_MAX_INCLUDE_DEPTH} deep")
    data = _file_data(tree, conf)
    if data is None:
        return []
    folders: list[str] = []
    for raw in data.decode(errors="surrogateescape").split("\n"):
        line = raw.split("#", 1)[0].lstrip(" \t\n\v\f\r")
        if re.match(r"include[ \t]", line):
            for pattern in re.split(r"[ \t]", line[8:]):
                if pattern:
                    for path in _glob(tree, listing, _include_path(conf, pattern)):
                        folders += _conf_dirs(tree, listing, path, depth=depth + 1)
        elif line and not re.match(r"(?i)hwcap[ \t]", line):
            folder = line.split("=", 1)[0].rstrip(" \t\n\v\f\r").rstrip("/")
            if folder:
                folders.append(folder)
    return folders


def _include_path(conf: str, pattern: str) -> str:
    return pattern if pattern.startswith("/") else posixpath.join(posixpath.dirname(conf), pattern)


def _glob(tree: FileTree, listing: _Listing, pattern: str) -> list[str]:
    """POSIX ``glob`` over the tree: sorted matches; ``*`` skips names starting with a dot."""
    matches = [""]
    for part in [p for p in pattern.split("/") if p]:
        following: list[str] = []
        for prefix in matches:
            if not any(c in part for c in "*?["):
                candidate = f"{prefix}/{part}"
                if tree.get(candidate) is not None or tree.resolve(candidate) is not None:
                    following.append(candidate)
                continue
            real = tree.resolve(prefix or "/")
            names = listing.children(real) if real is not None else []
            following += [
                f"{prefix}/{name}" for name in names
                if fnmatch.fnmatchcase(name, part) and (part.startswith(".") or name[0] != ".")
            ]
        matches = following
    return sorted(m for m in matches if m)


def _scan_dir(
    tree: FileTree, listing: _Listing, folder: _SearchDir, spec: _Arch
) -> list[_Library]:
    """ldconfig's ``search_dir``: the libraries of one folder, one per soname."""
    chosen: dict[str, _Library] = {}
    for name in listing.children(folder.real):
        if not _is_dso(name) or _is_temporary(name):
            continue
        library = _library(tree, posixpath.join(folder.real, name), name=name,
                           shown=f"{folder.path}/{name}", spec=spec)
        if library is None:
            continue
        current = chosen.get(library.soname)
        if current is None or _replaces(library, current):
            chosen[library.soname] = library
    return list(chosen.values())


def _library(tree: FileTree, path: str, *, name: str, shown: str, spec: _Arch) -> _Library | None:
    entry = tree.get(path)
    if entry is None or entry.kind is Kind.DIR:
        return None
    is_link = entry.kind is Kind.SYMLINK
    target = tree.resolve(path) if is_link else path
    data = _file_data(tree, target) if target is not None else None
    if data is None:
        return None
    elf = shared_object(data, machine=spec.machine, where=shown)
    if elf is None:
        return None
    key = elf.soname or name
    if is_link and name != key and not (name.endswith(".so") and key.startswith(name)):
        is_link = False
    return _Library(soname=name if is_link else key, name=name, is_link=is_link)


def _replaces(new: _Library, old: _Library) -> bool:
    """Prefer a file to a link, then the higher name (it names the newer version)."""
    if new.is_link != old.is_link:
        return not new.is_link
    return dl_cache_libcmp(old.name, new.name) < 0


def _is_dso(name: str) -> bool:
    """glibc's ``_dl_is_dso``: lib*.so*, ld-*.so*, ld.so.*, ld64.so.*."""
    return (
        (name.startswith(("lib", "ld-")) and ".so" in name)
        or name.startswith(("ld.so.", "ld64.so."))
    )


def _is_temporary(name: str) -> bool:
    """Temporary files of prelink, rpm and dpkg, which ldconfig 2.41 skips."""
    return (
        name.endswith((".#prelink#", ".dpkg-new", ".dpkg-tmp"))
        or ";" in name
        or re.search(r"\.#prelink#\.[^/]{6}$", name) is not None
    )


def _kind(tree: FileTree, path: str) -> Kind | None:
    if path == "/":
        return Kind.DIR
    entry = tree.get(path)
    return entry.kind if entry is not None else None


def _file_data(tree: FileTree, path: str) -> bytes | None:
    """The contents of the regular file at ``path`` (links followed), or None."""
    real = tree.resolve(path)
    entry = tree.get(real) if real is not None and real != "/" else None
    if entry is not None and entry.kind is Kind.HARDLINK:
        entry = tree.get(entry.target)
    if entry is None or entry.kind is not Kind.FILE:
        return None
    return entry.data


class _Listing:
    """The names in each folder of a tree, sorted."""

    def __init__(self, tree: FileTree) -> None:
        self._children: dict[str, list[str]] = {}
        for path in tree.paths():
            parent, name = posixpath.split(path)
            self._children.setdefault(parent, []).append(name)

    def children(self, folder: str) -> list[str]:
        """The names directly in ``folder`` (a resolved path)."""
        return self._children.get(folder, [])


