"""Install wheels into a FileTree as the wheel spec says, without running any of their code.

Where things go (Debian's scheme for the ``/usr/local`` prefix, which the
image's ``/usr/bin/python3`` puts on ``sys.path`` by itself, so no venv,
``PYTHONPATH`` or activation is needed and ``python3 -m`` works anywhere):

- purelib and platlib: ``/usr/local/lib/python3.X/dist-packages``
- ``.data/scripts`` and console scripts: ``/usr/local/bin`` (on the image's PATH),
  shebang ``#!/usr/bin/python3``
- ``.data/headers``: ``/usr/local/include/python3.X/NAME``; ``.data/data``: ``/usr/local``

Each file is checked against the wheel's RECORD; the installed RECORD lists the
installed paths (relative to dist-packages) so ``importlib.metadata`` works.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import io
import posixpath
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from distill.errors import FormatError, IntegrityError
from distill.rootfs.tree import FileTree

PREFIX = "/usr/local"
SHEBANG = b"#!/usr/bin/python3"
INSTALLER = b"distill\n"


def site_dir(python: str) -> str:
    """``/usr/local/lib/python3.11/dist-packages`` for ``python`` ``3.11``."""
    return f"{PREFIX}/lib/python{python}/dist-packages"


@dataclass(frozen=True)
class Installed:
    """One installed file: its image path, contents and mode."""

    path: str
    data: bytes
    mode: int


def install_wheel(tree: FileTree, wheel: Path, *, python: str) -> None:
    """Unpack ``wheel`` into ``tree`` for the image's Python ``python``."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            files = _read_members(archive, wheel.name)
    except (OSError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{wheel.name}: not a readable wheel: {exc}") from exc
    dist_info = _dist_info(files, wheel.name)
    _check_record(files, dist_info, wheel.name)
    site = site_dir(python)
    installed = [_place(name, data, mode, site=site, dist_info=dist_info, python=python)
                 for name, (data, mode) in sorted(files.items())
                 if name != f"{dist_info}/RECORD"]
    installed += console_scripts(files.get(f"{dist_info}/entry_points.txt", (b"", 0))[0])
    installed.append(Installed(f"{site}/{dist_info}/INSTALLER", INSTALLER, 0o644))
    for item in installed:
        tree.add_file(item.path, item.data, mode=item.mode)
    tree.add_file(f"{site}/{dist_info}/RECORD", record_for(installed, site=site,
                                                           dist_info=dist_info))


def _read_members(archive: zipfile.ZipFile, name: str) -> dict[str, tuple[bytes, int]]:
    files: dict[str, tuple[bytes, int]] = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        member = info.filename
        parts = member.split("/")
        if member.startswith("/") or ".." in parts or "\\" in member:
            raise FormatError(f"{name}: unsafe path {member!r} in the wheel")
        executable = bool((info.external_attr >> 16) & 0o111)
        files[member] = (archive.read(info), 0o755 if executable else 0o644)
    return files


def _dist_info(files: dict[str, tuple[bytes, int]], name: str) -> str:
    found = {m.split("/", 1)[0] for m in files if m.split("/", 1)[0].endswith(".dist-info")}
    if len(found) != 1:
        raise FormatError(f"{name}: expected one .dist-info folder, found {len(found)}")
    return found.pop()


def _check_record(files: dict[str, tuple[bytes, int]], dist_info: str, name: str) -> None:
    record = files.get(f"{dist_info}/RECORD")
    if record is None:
        raise FormatError(f"{name}: no {dist_info}/RECORD")
    for row in csv.reader(io.StringIO(record[0].decode("utf-8"))):
        if not row or not row[0] or len(row) < 2 or not row[1]:
            continue
        algorithm, _, expected = row[1].partition("=")
        if row[0] not in files:
            raise FormatError(f"{name}: RECORD lists {row[0]}, which the wheel lacks")
        actual = _urlsafe_hash(files[row[0]][0], algorithm)
        if actual != expected:
            raise IntegrityError(f"{name}: {row[0]} does not match its RECORD hash")


def _urlsafe_hash(data: bytes, algorithm: str) -> str:
    try:
        digest = hashlib.new(algorithm, data).digest()
    except ValueError as exc:
        raise FormatError(f"RECORD uses unknown hash {algorithm!r}") from exc
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _place(member: str, data: bytes, mode: int, *, site: str, dist_info: str,
           python: str) -> Installed:
    data_dir = dist_info.removesuffix(".dist-info") + ".data"
    top, _, rest = member.partition("/")
    if top != data_dir:
        return Installed(f"{site}/{member}", data, mode)
    scheme, _, relative = rest.partition("/")
    if scheme in ("purelib", "platlib"):
        return Installed(f"{site}/{relative}", data, mode)
    if scheme == "scripts":
        return Installed(f"{PREFIX}/bin/{relative}", *_script(data))
    if scheme == "headers":
        project = dist_info.split("-", 1)[0]
        return Installed(f"{PREFIX}/include/python{python}/{project}/{relative}", data, mode)
    if scheme == "data":
        return Installed(f"{PREFIX}/{relative}", data, mode)
    raise FormatError(f"{dist_info}: unknown wheel data scheme {scheme!r} in {member}")


def _script(data: bytes) -> tuple[bytes, int]:
    """A ``.data/scripts`` file: ``#!python`` becomes the image's interpreter."""
    first, newline, rest = data.partition(b"\n")
    if first.startswith(b"#!python"):
        return SHEBANG + first.removeprefix(b"#!python").removeprefix(b"w") + newline + rest, 0o755
    return data, 0o755


def console_scripts(entry_points: bytes) -> list[Installed]:
    """Small scripts in ``/usr/local/bin`` for ``[console_scripts]`` and ``[gui_scripts]``."""
    if not entry_points:
        return []
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(entry_points.decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise FormatError(f"entry_points.txt is not valid: {exc}") from exc
    scripts = []
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            for name, value in sorted(parser.items(section)):
                scripts.append(Installed(f"{PREFIX}/bin/{name}", script_text(value), 0o755))
    return scripts


def script_text(entry: str) -> bytes:
    """The launcher of ``module:attr.sub`` (extras in brackets are ignored)."""
    target = entry.split("[", 1)[0].strip()
    module, _, attr = target.partition(":")
    if not module or not attr:
        raise FormatError(f"entry point {entry!r} is not 'module:function'")
    head, _, tail = attr.partition(".")
    call = f"{head}.{tail}" if tail else head
    return (f"{SHEBANG.decode()}\n"
            "import sys\n"
            f"from {module.strip()} import {head.strip()}\n"
            "if __name__ == '__main__':\n"
            f"    sys.exit({call.strip()}())\n").encode()


def record_for(installed: Iterable[Installed], *, site: str, dist_info: str) -> bytes:
    """A RECORD listing ``installed`` (paths relative to ``site``) and itself."""
    rows = []
    for item in sorted(installed, key=lambda i: i.path):
        digest = "sha256=" + _urlsafe_hash(item.data, "sha256")
        rows.append([posixpath.relpath(item.path, site), digest, str(len(item.data))])
    rows.append([f"{dist_info}/RECORD", "", ""])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()
