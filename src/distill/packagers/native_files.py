"""Finding an app's ELF files: in a folder (Node addons, JNI libraries) or in a jar.

Only files named like native code are read: shared objects (``.so``,
``.so.1.2``) and Node addons (``.node``); anything else, and any such file
that is not ELF, is left alone.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
from collections.abc import Collection
from pathlib import Path

from distill.errors import ConfigError
from distill.packagers.elf import read_elf_bytes
from distill.packagers.native_closure import NativeFile

NATIVE_NAME = re.compile(r"(\.so(\.[^/.]+)*|\.node)$")
"""``.so``, ``.so.6``, ``.so.1.1.1k`` (auditwheel's copies keep odd versions), ``.node``."""
_NESTED = 3
"""How deep jars inside jars are read (a fat jar's BOOT-INF/lib/*.jar is depth 1)."""


def folder_native_files(folder: Path, *, skip: Collection[str] = ()) -> list[NativeFile]:
    """The ELF files under ``folder``, named relative to it; top-level ``skip`` folders
    and symbolic links are not followed."""
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not (Path(root) == folder and d in skip))
        for name in sorted(names):
            path = Path(root) / name
            if not NATIVE_NAME.search(name) or path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(folder).as_posix()
            try:
                info = read_elf_bytes(path.read_bytes(), path=Path(relative))
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
            if info is not None:
                files.append(NativeFile(path=relative, info=info))
    return files


def jar_native_files(jar: Path, *, shown: str | None = None) -> list[NativeFile]:
    """The ELF files inside ``jar`` and the jars it holds, named ``app.jar!/lib/x.so``."""
    try:
        return _archive_files(jar.read_bytes(), shown or jar.name, depth=0)
    except OSError as exc:
        raise ConfigError(f"cannot read {jar}: {exc.strerror}") from exc


def _archive_files(data: bytes, shown: str, *, depth: int) -> list[NativeFile]:
    files: list[NativeFile] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = info.filename
                base = posixpath.basename(name)
                if info.is_dir():
                    continue
                if base.endswith(".jar") and depth < _NESTED:
                    files += _archive_files(archive.read(info), f"{shown}!/{name}",
                                            depth=depth + 1)
                elif NATIVE_NAME.search(base):
                    where = f"{shown}!/{name}"
                    elf = read_elf_bytes(archive.read(info), path=Path(where))
                    if elf is not None:
                        files.append(NativeFile(path=where, info=elf))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{shown}: not a readable jar: {exc}") from exc
    return files
