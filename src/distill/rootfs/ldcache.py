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
- entries are sorted by ``_dl_cache_libcmp``, highest first, and written in the
  "new" format only (``glibc-ld.so.cache1.1``): the header, one ``file_entry_new``
  per library, the tail-merged string table, and the extension directory with
  the generator string.

The ``dir=TYPE`` suffix of a configuration line is dropped as glibc 2.36 does
(2.41 no longer knows the syntax and takes the line as a folder name, which
then does not exist). Not reproduced: ``glibc-hwcaps/`` and legacy hwcap subfolders (``tls``,
``haswell``...), which Debian's runtime libraries do not use, and libraries of a
foreign ABI (i386 or x32 on amd64, 32-bit Arm on arm64), which ldconfig lists
too but a distroless tree never holds.
"""

from __future__ import annotations

import fnmatch
import functools
import posixpath
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from distill.errors import ConfigError, FormatError
from distill.rootfs.tree import FileTree, Kind

LD_SO_CACHE = "/etc/ld.so.cache"
LD_SO_CONF = "/etc/ld.so.conf"
LD_SO_CONF_TEXT = b"include /etc/ld.so.conf.d/*.conf\n\n"
"""``/etc/ld.so.conf`` as Debian's libc-bin ships it."""
LIBC_CONF = "/etc/ld.so.conf.d/libc.conf"
LIBC_CONF_TEXT = b"# libc default configuration\n/usr/local/lib\n"
"""``/etc/ld.so.conf.d/libc.conf`` as Debian's libc-bin ships it."""
GENERATOR = "distill"
"""Default text of the cache's generator extension (ldconfig writes its version)."""

FLAG_ELF_LIBC6 = 0x0003
FLAG_X8664_LIB64 = 0x0300
FLAG_AARCH64_LIB64 = 0x0A00

_MAGIC = b"glibc-ld.so.cache"
_VERSION = b"1.1"
_HEADER = struct.Struct("<17s3sIIB3sI12s")
_ENTRY = struct.Struct("<iIIIQ")
_EXTENSION = struct.Struct("<II")
_SECTION = struct.Struct("<IIII")
_EXTENSION_MAGIC = 0xEAA42174
_ENDIAN_LITTLE = 2
_TAG_GENERATOR = 0
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
class CacheEntry:
    """One library of the cache: the name looked up and the path it maps to."""

    soname: str
    path: str
    flags: int


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
    return sorted(entries, key=functools.cmp_to_key(_compare_entries))


def encode_cache(entries: list[CacheEntry], *, generator: str = GENERATOR) -> bytes:
    """The cache file holding ``entries`` (already in ldconfig's order)."""
    strings, offsets = _string_table({s for e in entries for s in (e.soname, e.path)})
    base = _HEADER.size + len(entries) * _ENTRY.size
    extension_offset = _round_up(base + len(strings), 4)
    header = _HEADER.pack(
        _MAGIC, _VERSION, len(entries), len(strings), _ENDIAN_LITTLE, b"", extension_offset, b""
    )
    records = b"".join(
        _ENTRY.pack(e.flags, base + offsets[e.soname], base + offsets[e.path], 0, 0)
        for e in entries
    )
    padding = b"\0" * (extension_offset - base - len(strings))
    return header + records + strings + padding + _extension(extension_offset, generator)


def dl_cache_libcmp(left: str, right: str) -> int:
    """glibc's ``_dl_cache_libcmp``: compare names, runs of digits as numbers.

    Negative, zero or positive like ``strcmp``; a digit sorts after any other character.
    """
    a, b = left.encode(), right.encode()
    i = j = 0
    while i < len(a):
        ca, cb = a[i], _at(b, j)
        if _isdigit(ca):
            if not _isdigit(cb):
                return 1
            i, va = _number(a, i)
            j, vb = _number(b, j)
            if va != vb:
                return va - vb
            continue
        if _isdigit(cb):
            return -1
        if ca != cb:
            return ca - cb
        i, j = i + 1, j + 1
    return -_at(b, j)


# --- sorting and encoding --------------------------------------------------


def _compare_entries(left: CacheEntry, right: CacheEntry) -> int:
    """ldconfig's order: names by libcmp, highest first; then higher flags first."""
    order = dl_cache_libcmp(right.soname, left.soname)
    if order == 0:
        return right.flags - left.flags
    return order


def _string_table(strings: set[str]) -> tuple[bytes, dict[str, int]]:
    """glibc's ``stringtable_finalize``: strings sorted on their reversed bytes, highest
    first, each one that ends the previous one sharing its tail."""
    ordered = sorted((s.encode() for s in strings), key=lambda s: s[::-1], reverse=True)
    table = bytearray()
    offsets: dict[bytes, int] = {}
    previous = b""
    for string in ordered:
        if previous and previous.endswith(string):
            offsets[string] = offsets[previous] + len(previous) - len(string)
        else:
            offsets[string] = len(table)
            table += string + b"\0"
        previous = string
    return bytes(table), {s.decode(): offset for s, offset in offsets.items()}


def _extension(offset: int, generator: str) -> bytes:
    text = generator.encode()
    directory = _EXTENSION.pack(_EXTENSION_MAGIC, 1)
    section = _SECTION.pack(_TAG_GENERATOR, 0, offset + _EXTENSION.size + _SECTION.size, len(text))
    return directory + section + text


def _round_up(value: int, step: int) -> int:
    return (value + step - 1) // step * step


def _at(data: bytes, index: int) -> int:
    return data[index] if index < len(data) else 0


def _isdigit(char: int) -> bool:
    return 0x30 <= char <= 0x39


def _number(data: bytes, index: int) -> tuple[int, int]:
    value = 0
    while index < len(data) and _isdigit(data[index]):
        value = value * 10 + data[index] - 0x30
        index += 1
    return index, value


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


# --- ELF -------------------------------------------------------------------

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS64 = 2
_ELFDATA2LSB = 1
_ET_DYN = 3
_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_STRTAB = 5
_DT_SONAME = 14
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_DYN = struct.Struct("<qQ")


@dataclass(frozen=True)
class _Segment:
    kind: int
    offset: int
    vaddr: int
    filesz: int


@dataclass(frozen=True)
class SharedObject:
    """What ldconfig reads from an ELF shared object."""

    soname: str | None
    """The DT_SONAME, or None when the object has none."""


def shared_object(data: bytes, *, machine: int, where: str) -> SharedObject | None:
    """Read a 64-bit little-endian ELF shared object for ``machine`` (62 x86-64, 183 AArch64).

    Returns None for anything else (another file type, class or machine, no
    dynamic section), which ldconfig skips. Raises :class:`FormatError` naming
    ``where`` when the object's headers point outside the file.
    """
    if len(data) < _EHDR.size or not data.startswith(_ELF_MAGIC):
        return None
    fields = _EHDR.unpack_from(data)
    ident, e_type, e_machine = fields[0], fields[1], fields[2]
    if ident[4] != _ELFCLASS64 or ident[5] != _ELFDATA2LSB:
        return None
    if e_type != _ET_DYN or e_machine != machine:
        return None
    segments = _segments(data, offset=fields[5], size=fields[9], count=fields[10], where=where)
    dynamic = next((s for s in segments if s.kind == _PT_DYNAMIC), None)
    if dynamic is None or dynamic.filesz == 0:
        return None
    tags = _dynamic(data, dynamic, where=where)
    strtab = next((value for tag, value in tags if tag == _DT_STRTAB), None)
    if strtab is None:
        return None
    soname = next((value for tag, value in tags if tag == _DT_SONAME), None)
    if soname is None:
        return SharedObject(soname=None)
    offset = _file_offset(strtab, segments) + soname
    return SharedObject(soname=_string_at(data, offset, where=where))


def _segments(data: bytes, *, offset: int, size: int, count: int, where: str) -> list[_Segment]:
    if count and size < _PHDR.size:
        raise FormatError(f"{where}: ELF program header entries are {size} bytes, too small")
    if offset + size * count > len(data):
        raise FormatError(f"{where}: ELF program headers run past the end of the file")
    segments = []
    for index in range(count):
        kind, _flags, p_offset, vaddr, _paddr, filesz, _memsz, _align = _PHDR.unpack_from(
            data, offset + index * size
        )
        segments.append(_Segment(kind=kind, offset=p_offset, vaddr=vaddr, filesz=filesz))
    return segments


def _dynamic(data: bytes, segment: _Segment, *, where: str) -> list[tuple[int, int]]:
    """The (tag, value) pairs of the dynamic section up to DT_NULL."""
    tags: list[tuple[int, int]] = []
    position = segment.offset
    while True:
        if position + _DYN.size > len(data):
            raise FormatError(f"{where}: ELF dynamic section runs past the end of the file")
        tag, value = _DYN.unpack_from(data, position)
        if tag == _DT_NULL:
            return tags
        tags.append((tag, value))
        position += _DYN.size


def _file_offset(vaddr: int, segments: list[_Segment]) -> int:
    """Where address ``vaddr`` is in the file: through the PT_LOAD holding it, as ldconfig."""
    for segment in segments:
        if segment.kind == _PT_LOAD and 0 <= vaddr - segment.vaddr < segment.filesz:
            return vaddr - segment.vaddr + segment.offset
    return vaddr


def _string_at(data: bytes, offset: int, *, where: str) -> str:
    end = data.find(b"\0", offset)
    if offset >= len(data) or end < 0:
        raise FormatError(f"{where}: ELF soname string lies outside the file")
    return data[offset:end].decode(errors="surrogateescape")
