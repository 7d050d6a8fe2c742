"""Deterministic tar streams of a :class:`~distill.rootfs.tree.FileTree`.

Every header byte is written here, not by :mod:`tarfile`, so the bytes depend
only on the tree and ``mtime``: not on the Python version, the user database,
the umask or the time zone. The layout:

- entries in the tree's sorted path order, every parent before its children;
  names are relative (``usr/bin/env``) and folders end with a slash
  (``usr/bin/``), as GNU tar and ``docker save`` write them;
- ustar headers: permission bits only in the mode (setuid, setgid and sticky
  kept), numeric uid and gid with empty user and group names, the given
  ``mtime`` for every entry, device numbers zero;
- a PAX extended header (named ``././@PaxHeader``, times 0) only when a name or
  link target is over 100 bytes or not ASCII, or a number does not fit its
  octal field; it carries path, linkpath, uid, gid and size records, never times;
- hard links: the first member of a group (a file and the hard links to it) in
  path order carries the data; the others are tar hard links to it, so a link
  always follows the data it names even when it sorts before its target;
- the end: two zero blocks and no record padding, as Go's archive/tar writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from distill.errors import FormatError
from distill.progress import Task
from distill.rootfs.tree import Entry, FileTree, Kind

BLOCK = 512
END_OF_ARCHIVE = bytes(2 * BLOCK)
PAX_HEADER_NAME = "././@PaxHeader"
MAX_MTIME = 8**11 - 1

_REGULAR, _HARDLINK, _SYMLINK, _DIRECTORY, _PAX = b"0", b"1", b"2", b"5", b"x"
_NAME_FIELD = 100
_ID_MAX = 8**7 - 1
_SIZE_MAX = 8**11 - 1


class ByteSink(Protocol):
    """Anything with a ``write(bytes)`` method: a binary file or a compressor."""

    def write(self, data: bytes, /) -> object:
        """Consume ``data``."""


@dataclass(frozen=True)
class _Member:
    """One archive member, as written."""

    name: str
    typeflag: bytes
    mode: int
    uid: int
    gid: int
    data: bytes = b""
    linkname: str = ""


def write_tar(
    tree: FileTree, out: ByteSink, *, mtime: int, task: Task | None = None
) -> None:
    """Write ``tree`` to ``out`` as a deterministic tar stream.

    ``mtime`` (seconds since the epoch, usually SOURCE_DATE_EPOCH) is every
    entry's modification time. ``task``, if given, advances by one per entry.
    Raises FormatError for an mtime out of range or a hard link whose target is
    not a file in the tree.
    """
    if not 0 <= mtime <= MAX_MTIME:
        raise FormatError(f"layer mtime {mtime} is outside 0..{MAX_MTIME}")
    for member in _members(tree):
        out.write(_header_blocks(member, mtime))
        if member.data:
            out.write(member.data)
            out.write(bytes(-len(member.data) % BLOCK))
        if task is not None:
            task.advance(1)
    out.write(END_OF_ARCHIVE)


def _members(tree: FileTree) -> Iterator[_Member]:
    carrier: dict[str, str] = {}  # link target path -> archive name holding its data
    for entry in tree:
        name = entry.path.lstrip("/")
        if entry.kind is Kind.DIR:
            yield _Member(name + "/", _DIRECTORY, entry.mode, entry.uid, entry.gid)
        elif entry.kind is Kind.SYMLINK:
            yield _Member(name, _SYMLINK, entry.mode, entry.uid, entry.gid,
                          linkname=entry.target)
        else:
            source = entry if entry.kind is Kind.FILE else _link_source(tree, entry)
            holder = carrier.setdefault(source.path, name)
            if holder == name:
                yield _Member(name, _REGULAR, source.mode, source.uid, source.gid,
                              data=source.data)
            else:
                yield _Member(name, _HARDLINK, source.mode, source.uid, source.gid,
                              linkname=holder)


def _link_source(tree: FileTree, link: Entry) -> Entry:
    source = tree.get(link.target)
    if source is None or source.kind is not Kind.FILE:
        raise FormatError(f"hard link {link.path} points to {link.target}, which is not a file")
    return source


def _header_blocks(member: _Member, mtime: int) -> bytes:
    name, linkname = _encode(member.name), _encode(member.linkname)
    pax: list[tuple[str, bytes]] = []
    if len(name) > _NAME_FIELD or not name.isascii():
        pax.append(("path", name))
    if len(linkname) > _NAME_FIELD or not linkname.isascii():
        pax.append(("linkpath", linkname))
    for key, value, limit in (("uid", member.uid, _ID_MAX), ("gid", member.gid, _ID_MAX),
                              ("size", len(member.data), _SIZE_MAX)):
        if value < 0:
            raise FormatError(f"negative {key} {value} for {member.name} in the layer")
        if value > limit:
            pax.append((key, str(value).encode()))
    header = _ustar(
        name=_fit(name), typeflag=member.typeflag, mode=member.mode & 0o7777,
        uid=min(member.uid, _ID_MAX), gid=min(member.gid, _ID_MAX),
        size=min(len(member.data), _SIZE_MAX), mtime=mtime, linkname=_fit(linkname),
    )
    if not pax:
        return header
    records = _pax_records(pax)
    padding = bytes(-len(records) % BLOCK)
    pax_header = _ustar(name=PAX_HEADER_NAME.encode(), typeflag=_PAX, mode=0o644, uid=0,
                        gid=0, size=len(records), mtime=0, linkname=b"")
    return pax_header + records + padding + header


def plain_header(name: str, size: int, *, directory: bool = False) -> bytes:
    """The ustar header of a root-owned file (0644) or folder (0755) with mtime 0, named by
    at most 100 ASCII characters (an archive's own members: ``manifest.json``, ...)."""
    encoded = name.encode("ascii")
    if len(encoded) > _NAME_FIELD:
        raise FormatError(f"archive member name {name!r} is longer than {_NAME_FIELD} bytes")
    return _ustar(name=encoded, typeflag=_DIRECTORY if directory else _REGULAR,
                  mode=0o755 if directory else 0o644, uid=0, gid=0, size=size, mtime=0,
                  linkname=b"")


def _encode(text: str) -> bytes:
    # surrogateescape round-trips names that were not UTF-8 in a .deb's tar.
    return text.encode("utf-8", "surrogateescape")


def _fit(field: bytes) -> bytes:
    """The ustar field for a name carried in a PAX record: ASCII, at most 100 bytes."""
    return bytes(b if b < 0x80 else 0x3F for b in field[:_NAME_FIELD])


def _pax_records(pairs: list[tuple[str, bytes]]) -> bytes:
    records = b"".join(_pax_record(key, value) for key, value in pairs)
    if any(not _is_utf8(value) for key, value in pairs if key in ("path", "linkpath")):
        records = _pax_record("hdrcharset", b"BINARY") + records
    return records


def _pax_record(key: str, value: bytes) -> bytes:
    """One ``"<length> <key>=<value>\\n"`` record; the length counts itself."""
    body = b" " + key.encode("ascii") + b"=" + value + b"\n"
    length = len(body) + len(str(len(body)))
    if len(str(length)) > len(str(len(body))):
        length += 1
    return str(length).encode("ascii") + body


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _ustar(
    *, name: bytes, typeflag: bytes, mode: int, uid: int, gid: int, size: int, mtime: int,
    linkname: bytes,
) -> bytes:
    fields = [
        name.ljust(100, b"\0"),
        _octal(mode, 8),
        _octal(uid, 8),
        _octal(gid, 8),
        _octal(size, 12),
        _octal(mtime, 12),
        b" " * 8,  # checksum, computed with this field as spaces
        typeflag,
        linkname.ljust(100, b"\0"),
        b"ustar\x0000",
        bytes(32),  # uname
        bytes(32),  # gname
        _octal(0, 8),  # devmajor
        _octal(0, 8),  # devminor
        bytes(155),  # prefix (unused: long names go to PAX records)
    ]
    header = b"".join(fields).ljust(BLOCK, b"\0")
    checksum = b"%06o\0 " % sum(header)
    return header[:148] + checksum + header[156:]


def _octal(value: int, width: int) -> bytes:
    """``value`` as zero-padded octal digits and a NUL, ``width`` bytes in all."""
    return b"%0*o\0" % (width - 1, value)
