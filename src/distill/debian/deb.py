"""Reading .deb files: the ar container, control.tar and data.tar (xz, zst, gz).

A .deb is an ar archive holding ``debian-binary``, ``control.tar.*`` and
``data.tar.*``. The tarballs are decompressed in memory; Debian packages are
small enough for that and it keeps reading free of temporary files.
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import zstandard

from distill.errors import FormatError

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60


@dataclass(frozen=True)
class DataMember:
    """One entry of a package's data.tar, with its contents for regular files."""

    info: tarfile.TarInfo
    data: bytes


@dataclass(frozen=True)
class DebArchive:
    """The parts of a .deb that distill uses."""

    control: str
    """The ``control`` file: one deb822 paragraph."""
    md5sums: str
    """The ``md5sums`` file, or an empty string when the package has none."""
    data_tar: bytes
    """The decompressed data.tar."""
    conffiles: str = ""
    """The ``conffiles`` file (one absolute path a line), or an empty string."""

    def members(self) -> Iterator[DataMember]:
        """The entries of data.tar in archive order."""
        try:
            with tarfile.open(fileobj=io.BytesIO(self.data_tar), mode="r:") as tar:
                for info in tar:
                    data = b""
                    if info.isreg():
                        extracted = tar.extractfile(info)
                        data = extracted.read() if extracted is not None else b""
                    yield DataMember(info, data)
        except tarfile.TarError as exc:
            raise FormatError(f"corrupt data.tar: {exc}") from exc


def read_deb(path: Path) -> DebArchive:
    """Read the .deb at ``path``; raise :class:`FormatError` if it is not one."""
    try:
        parts = dict(_ar_members(path.read_bytes()))
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        control_name = _one(parts, "control.tar", path)
        data_name = _one(parts, "data.tar", path)
        control_tar = _decompress(control_name, parts[control_name])
        data_tar = _decompress(data_name, parts[data_name])
        control_files = _small_tar_files(control_tar)
    except FormatError as exc:
        raise FormatError(f"{path.name}: {exc}") from exc
    if "control" not in control_files:
        raise FormatError(f"{path.name}: control.tar has no control file")
    return DebArchive(
        control=control_files["control"].decode("utf-8", "replace"),
        md5sums=control_files.get("md5sums", b"").decode("utf-8", "replace"),
        data_tar=data_tar,
        conffiles=control_files.get("conffiles", b"").decode("utf-8", "replace"),
    )


def _ar_members(blob: bytes) -> Iterator[tuple[str, bytes]]:
    if not blob.startswith(_AR_MAGIC):
        raise FormatError("not a Debian package (no ar header)")
    offset = len(_AR_MAGIC)
    while offset + _AR_HEADER <= len(blob):
        header = blob[offset : offset + _AR_HEADER]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError as exc:
            raise FormatError("corrupt ar member header") from exc
        start = offset + _AR_HEADER
        if start + size > len(blob):
            raise FormatError(f"truncated ar member {name}")
        yield name, blob[start : start + size]
        offset = start + size + (size % 2)


def _one(parts: dict[str, bytes], stem: str, path: Path) -> str:
    names = [n for n in parts if n == stem or n.startswith(stem + ".")]
    if len(names) != 1:
        raise FormatError(f"expected one {stem}.* member, found {len(names)}")
    return names[0]


def _decompress(name: str, blob: bytes) -> bytes:
    try:
        if name.endswith(".xz"):
            return lzma.decompress(blob)
        if name.endswith(".zst"):
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob))
            return reader.read()
        if name.endswith(".gz"):
            return gzip.decompress(blob)
        if name.endswith(".tar"):
            return blob
    except (lzma.LZMAError, zstandard.ZstdError, OSError, EOFError) as exc:
        raise FormatError(f"cannot decompress {name}: {exc}") from exc
    raise FormatError(f"unsupported compression for {name}")


def _small_tar_files(tar_bytes: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            for info in tar:
                if info.isreg():
                    extracted = tar.extractfile(info)
                    if extracted is not None:
                        files[info.name.removeprefix("./")] = extracted.read()
    except tarfile.TarError as exc:
        raise FormatError(f"corrupt control.tar: {exc}") from exc
    return files
