"""The ``/etc/ld.so.cache`` file format as glibc's ldconfig writes it (the "new" format only).

Entries are sorted by ``_dl_cache_libcmp``, highest first; the file is the
header, one ``file_entry_new`` per library, the tail-merged string table, and
the extension directory with the generator string. Which libraries go into the
cache is :mod:`distill.rootfs.ldcache`'s job.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CacheEntry:
    """One library of the cache: the name looked up and the path it maps to."""

    soname: str
    path: str
    flags: int


def sorted_entries(entries: list[CacheEntry]) -> list[CacheEntry]:
    """``entries`` in ldconfig's order."""
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
