"""The one thing ldconfig reads from an ELF shared object: its DT_SONAME.

A few ``struct`` reads of 64-bit little-endian ELF headers, enough for
ldconfig's choice and far faster than a general ELF reader over every library
of a flavor.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from distill.errors import FormatError

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
