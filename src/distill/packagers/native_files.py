"""Finding an app's ELF files: in a folder (Node addons, JNI libraries), in a jar, and
among the files ``files:`` copies (checked against the release's glibc).

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

from distill.config import Config
from distill.errors import ConfigError
from distill.flavors import lineage
from distill.packagers import NativeNeed, PrepareContext
from distill.packagers.elf import ELF_MAGIC, read_elf_bytes, version_key
from distill.packagers.native_closure import (
    GLIBC_SONAMES,
    NativeFile,
    check_glibc,
    is_glibc_linked,
    needs_for_app,
    package_index,
    shown,
)
from distill.packagers.python_wheels import GLIBC

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


def check_copied_files(config: Config, *, context: PrepareContext) -> None:
    """Refuse an ELF file of ``files:`` that needs a newer glibc than the image's release.

    Only the headers of files that start like ELF are read; the release's index is
    read only when one needs a glibc newer than the release is known to have.
    """
    if config.remote_base is not None or not context.archs:
        return  # a remote base brings its own glibc
    known = GLIBC.get(config.release)
    late = [file for copy in config.files for file in _elf_files(copy.src)
            if file.info.arch in context.archs and is_glibc_linked(file.info)
            and file.info.glibc_required is not None and known is not None
            and version_key(file.info.glibc_required) > known]
    for file in late:
        index = package_index(context.sources, arch=file.info.arch, context=context)
        check_glibc(file, index, release=config.release, arch=file.info.arch,
                    custom_sources=bool(config.repositories), cache=context.cache / "debian")


def copied_native_needs(config: Config, *, context: PrepareContext) -> list[NativeNeed]:
    """The Debian packages the dynamically linked ELF files of ``files:`` (programs, JNI
    libraries, plugins) need and the base lacks; nothing on a remote base.

    Files that link only glibc on a base that has it read no index at all.
    """
    if config.remote_base is not None or not context.archs:
        return []
    files = [file for copy in config.files for file in _elf_files(copy.src)
             if is_glibc_linked(file.info)]
    inside = {posixpath.basename(file.path) for file in files}
    outside = {name for file in files for name in (*file.info.needed, *_loader(file))
               if name not in inside}
    if not outside or (outside <= GLIBC_SONAMES and _has_libc(config)):
        return []
    return needs_for_app(files, config=config, context=context)


def _loader(file: NativeFile) -> tuple[str, ...]:
    interpreter = file.info.interpreter
    return (posixpath.basename(interpreter),) if interpreter else ()


def _has_libc(config: Config) -> bool:
    return any("libc6" in flavor.packages_for(config.release) for flavor in lineage(config.base))


def _elf_files(src: Path) -> list[NativeFile]:
    paths = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file()
                                               and not p.is_symlink()) if src.is_dir() else []
    files = []
    for path in paths:
        try:
            with path.open("rb") as stream:
                if stream.read(4) != ELF_MAGIC:
                    continue
            info = read_elf_bytes(path.read_bytes(), path=path)
        except OSError:
            continue  # copying it reports the problem
        if info is not None:
            files.append(NativeFile(path=shown(path), info=info))
    return files
