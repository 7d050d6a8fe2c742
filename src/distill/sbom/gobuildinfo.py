"""Go modules from a binary's build information (what ``go version -m`` prints).

Go 1.18 and later write a 32-byte header, ``\\xff Go buildinf:``, pointer size,
flags; with flag bit 2 the Go version and the module information follow as
two varint-length strings. The module information, between 16-byte sentinels,
has ``path``, ``mod`` (the main module) and ``dep`` lines (path, version,
``h1:`` sum), a ``=>`` line after a replaced one. Older binaries, which store
pointers instead, are not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from distill.sbom import purls
from distill.sbom.image_files import ImageFiles
from distill.sbom.inventory import GOLANG, Package, PackageFile

MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_INLINE = 0x2
_SENTINEL = 16


@dataclass(frozen=True)
class Module:
    """One module line of a Go binary's build information."""

    path: str
    version: str
    checksum: str = ""


@dataclass(frozen=True)
class BuildInfo:
    """The Go version and the modules a binary was built from."""

    go_version: str
    main: Module | None
    deps: tuple[Module, ...]


def wants(path: str, data: bytes) -> bool:
    """Whether ``data`` is an ELF file with Go build information."""
    del path
    return data.startswith(b"\x7fELF") and MAGIC in data


def read_buildinfo(data: bytes) -> BuildInfo | None:
    """The build information in a binary's bytes, or None when it has none readable."""
    at = data.find(MAGIC)
    if at < 0 or len(data) < at + _HEADER or not data[at + 15] & _INLINE:
        return None
    go_version, offset = _varint_string(data, at + _HEADER)
    modinfo, _ = _varint_string(data, offset)
    if go_version is None or modinfo is None:
        return None
    if len(modinfo) >= 2 * _SENTINEL:
        modinfo = modinfo[_SENTINEL:-_SENTINEL]
    return _parse_modinfo(go_version, modinfo)


def go_packages(files: ImageFiles) -> Iterator[Package]:
    """The main module and every dependency of each Go binary in the image."""
    for record in files.files():
        if record.data is None or not wants(record.path, record.data):
            continue
        info = read_buildinfo(record.data)
        if info is None:
            continue
        owned = (PackageFile(path=record.path, sha1=record.sha1, sha256=record.sha256),)
        modules = ([info.main] if info.main else []) + list(info.deps)
        for module in modules:
            yield Package(
                kind=GOLANG, name=module.path, version=module.version,
                purl=purls.golang(module=module.path, version=module.version),
                layer=record.layer, files=owned, checksum=module.checksum,
                found_at=record.path,
            )


def _varint_string(data: bytes, offset: int) -> tuple[str | None, int]:
    length, shift = 0, 0
    while offset < len(data):
        byte = data[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            end = offset + length
            if end > len(data):
                return None, offset
            return data[offset:end].decode("utf-8", "replace"), end
        shift += 7
        if shift > 63:
            break
    return None, offset


def _is_local(path: str) -> bool:
    """A replacement by a folder (``./dep``) keeps the module's own name and version."""
    return path.startswith((".", "/"))


def _parse_modinfo(go_version: str, text: str) -> BuildInfo:
    main: Module | None = None
    deps: list[Module] = []
    for line in text.splitlines():
        fields = line.split("\t")
        if fields[0] == "mod" and len(fields) >= 3:
            main = Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
        elif fields[0] == "dep" and len(fields) >= 3:
            deps.append(Module(fields[1], fields[2], fields[3] if len(fields) > 3 else ""))
        elif fields[0] == "=>" and len(fields) >= 3 and deps and not _is_local(fields[1]):
            # A module replaced by another module: what was built is the replacement.
            deps[-1] = Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
    return BuildInfo(go_version=go_version, main=main, deps=tuple(deps))
