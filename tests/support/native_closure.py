"""Check an unpacked image the way the dynamic loader would: every ELF program and
shared object finds each library it links (DT_NEEDED) in the image.

The search follows glibc's order for one object: its DT_RPATH (only when it has
no DT_RUNPATH), its DT_RUNPATH (``$ORIGIN`` is the object's folder), then the
loader's default folders. LD_LIBRARY_PATH and /etc/ld.so.cache are not used: an
image must work without the one, and the cache only indexes the default folders
and those of /etc/ld.so.conf, which distill's flavors do not extend. Paths and
symbolic links are resolved inside the image (an absolute link target is
relative to the image's root), never on the host.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from distill.errors import ConfigError
from distill.packagers.elf import ElfInfo, read_elf

TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
_ELF_MAGIC = b"\x7fELF"
_MAX_HOPS = 40


def unpack_layers(layers: Iterable[Path], root: Path) -> Path:
    """The gzip-compressed layer tars unpacked in order into ``root`` (created)."""
    root.mkdir(parents=True)
    for layer in layers:
        with tarfile.open(layer, "r:gz") as tar:
            tar.extractall(root, filter="tar")
    return root


def default_folders(arch: str) -> tuple[str, ...]:
    """The folders the loader searches last, as Debian's glibc is built."""
    triplet = TRIPLETS[arch]
    return (f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib", "/usr/lib")


def resolve(root: Path, path: str) -> Path | None:
    """The file ``path`` names inside the image at ``root``, with links followed
    inside the image; None when it does not exist."""
    pending = [part for part in path.split("/") if part and part != "."]
    current = root
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink():
            hops += 1
            if hops > _MAX_HOPS:
                return None
            target = str(candidate.readlink())
            if target.startswith("/"):
                current = root
            pending = [p for p in target.split("/") if p and p != "."] + pending
            continue
        if not candidate.exists():
            return None
        current = candidate
    return current if current.is_file() else None


def elf_files(root: Path) -> Iterator[tuple[str, ElfInfo]]:
    """Every ELF regular file of the image (not links), as (image path, headers)."""
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file() or not _is_elf(path):
                continue
            try:
                info = read_elf(path)
            except ConfigError:
                continue  # a truncated or foreign file that starts like ELF
            yield "/" + path.relative_to(root).as_posix(), info


def search_folders(image_path: str, info: ElfInfo, *, arch: str) -> tuple[str, ...]:
    """Where the loader looks for the libraries of the object at ``image_path``."""
    origin = posixpath.dirname(image_path)
    own = info.runpath if info.runpath else info.rpath
    expanded = tuple(_expand(folder, origin) for folder in own if folder)
    return (*expanded, *default_folders(arch))


def missing_libraries(root: Path, *, arch: str = "amd64",
                      preloaded: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Image path -> the sonames (and the interpreter) it needs that the image lacks,
    for every ELF file of the unpacked image at ``root``.

    ``preloaded`` maps sonames to the image paths of libraries a program loads
    itself before anything links them (the java launcher dlopens libjvm.so from
    the path in jvm.cfg): the loader reuses a loaded library with that soname.
    """
    loaded = {soname for soname, path in (preloaded or {}).items()
              if resolve(root, path) is not None}
    missing: dict[str, list[str]] = {}
    for image_path, info in elf_files(root):
        folders = search_folders(image_path, info, arch=arch)
        absent = [soname for soname in info.needed
                  if soname not in loaded and not _found(root, soname, folders)]
        if info.interpreter is not None and resolve(root, info.interpreter) is None:
            absent.append(info.interpreter)
        if absent:
            missing[image_path] = absent
    return missing


def _found(root: Path, soname: str, folders: Iterable[str]) -> bool:
    if "/" in soname:
        return resolve(root, soname) is not None
    return any(resolve(root, posixpath.join(folder, soname)) is not None for folder in folders)


def _expand(folder: str, origin: str) -> str:
    expanded = folder.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
    return posixpath.normpath(expanded)


def _is_elf(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4) == _ELF_MAGIC
