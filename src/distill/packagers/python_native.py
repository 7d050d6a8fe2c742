"""The ELF files of wheels (extension modules, libraries in ``*.libs/``), read from the zips.

Only members whose names look like shared objects (``.so``, ``.so.N``) or sit
in ``.data/scripts`` are read; each is named by its path once installed,
relative to dist-packages (``cv2/cv2.abi3.so``). What a wheel holds is
remembered under ``DISTILL_CACHE/python/native`` by the wheel's SHA-256, so a
rebuild reads no zip.
"""

from __future__ import annotations

import json
import posixpath
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distill.errors import FormatError
from distill.fsutil import atomic_write_bytes
from distill.packagers.elf import ElfInfo, read_elf_bytes
from distill.packagers.native_closure import NativeFile
from distill.packagers.native_files import NATIVE_NAME
from distill.packagers.python_wheels import Wheel

_DATA = re.compile(r"^[^/]+\.data/(purelib|platlib|scripts)/")
_SCRIPTS = re.compile(r"^[^/]+\.data/scripts/")
_FORMAT = "v2"


def wheels_native_files(wheels: Sequence[Wheel], *, cache: Path) -> list[NativeFile]:
    """Every ELF file of ``wheels``."""
    return [file for wheel in wheels for file in wheel_native_files(wheel, cache=cache)]


def wheel_native_files(wheel: Wheel, *, cache: Path) -> list[NativeFile]:
    """The ELF files of one wheel, from the cache when it was read before."""
    remembered = cache / "python" / "native" / f"{wheel.sha256}.{_FORMAT}.json"
    try:
        return [_from_json(item) for item in json.loads(remembered.read_bytes())]
    except (OSError, ValueError, TypeError, KeyError):
        pass  # not read yet, or a damaged entry: read the wheel again
    files = _read_wheel(wheel.path)
    atomic_write_bytes(remembered, json.dumps([_to_json(f) for f in files]).encode())
    return files


def installed_path(member: str) -> str:
    """Where a wheel member lands relative to dist-packages (scripts: ``bin/NAME``)."""
    match = _DATA.match(member)
    if match is None:
        return member
    rest = member[match.end():]
    return f"bin/{rest}" if match.group(1) == "scripts" else rest


def _read_wheel(path: Path) -> list[NativeFile]:
    files = []
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename
                if info.is_dir() or not (NATIVE_NAME.search(posixpath.basename(name))
                                         or _SCRIPTS.match(name)):
                    continue
                shown = installed_path(name)
                elf = read_elf_bytes(archive.read(info), path=Path(shown))
                if elf is not None:
                    files.append(NativeFile(path=shown, info=elf))
    except (OSError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{path.name}: not a readable wheel: {exc}") from exc
    return files


def _to_json(file: NativeFile) -> dict[str, Any]:
    info = file.info
    return {"path": file.path, "arch": info.arch, "machine": info.machine,
            "interpreter": info.interpreter, "needed": list(info.needed),
            "rpath": list(info.rpath), "runpath": list(info.runpath),
            "glibc": list(info.glibc_versions)}


def _from_json(item: dict[str, Any]) -> NativeFile:
    info = ElfInfo(path=Path(item["path"]), arch=str(item["arch"]),
                   machine=str(item["machine"]), interpreter=item["interpreter"],
                   needed=tuple(item["needed"]), rpath=tuple(item["rpath"]),
                   runpath=tuple(item["runpath"]), glibc_versions=tuple(item["glibc"]))
    return NativeFile(path=str(item["path"]), info=info)
