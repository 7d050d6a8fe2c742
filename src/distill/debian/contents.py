"""The release's Contents index, kept to shared libraries: library path -> packages.

``dists/<suite>/<component>/Contents-<arch>.gz`` lists every file of every
package. It is listed and hashed in the signed Release, so it is fetched
verified exactly as the Packages index is. Only the files directly in the
dynamic loader's default folders (``lib/<triplet>``, ``usr/lib/<triplet>``,
``lib``, ``usr/lib``) whose names contain ``.so`` are kept; that map is cached
under the compressed file's hash, so a warm lookup reads a small file.
"""

from __future__ import annotations

import marshal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from isal import igzip

from distill.debian.download import client_or_new
from distill.debian.release import Release
from distill.debian.repository import fetch_release_file, fetch_releases
from distill.debian.sources import Source
from distill.errors import ConfigError, FormatError
from distill.fsutil import atomic_write_bytes
from distill.progress import SILENT, Progress

TRIPLETS: Mapping[str, str] = {
    "amd64": "x86_64-linux-gnu",
    "arm64": "aarch64-linux-gnu",
    "i386": "i386-linux-gnu",
    "armhf": "arm-linux-gnueabihf",
    "ppc64el": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
}
"""Debian architecture -> the multiarch triplet of its library folders."""

_FORMAT = f"contents-v1.marshal{marshal.version}.py{sys.version_info[0]}{sys.version_info[1]}"


@dataclass(frozen=True)
class LibraryContents:
    """Which packages ship each shared library in the loader's default folders."""

    arch: str
    paths: Mapping[str, tuple[str, ...]]
    """Path without the leading slash (``usr/lib/x86_64-linux-gnu/libz.so.1``) -> packages."""

    @property
    def folders(self) -> tuple[str, ...]:
        """The folders searched, in the dynamic loader's order."""
        return library_folders(self.arch)

    def providers(self, soname: str) -> tuple[str, ...]:
        """The packages that ship ``soname`` in the first folder that has it (empty if none)."""
        for folder in self.folders:
            packages = self.paths.get(f"{folder}/{soname}")
            if packages:
                return packages
        return ()


def library_folders(arch: str) -> tuple[str, ...]:
    """The loader's default library folders for ``arch``, without leading slashes."""
    triplet = TRIPLETS.get(arch)
    if triplet is None:
        raise ConfigError(f"no library folder layout is known for architecture {arch}")
    return (f"lib/{triplet}", f"usr/lib/{triplet}", "lib", "usr/lib")


def load_contents(
    sources: Sequence[Source],
    *,
    arch: str,
    cache: Path,
    progress: Progress = SILENT,
    client: httpx.Client | None = None,
) -> LibraryContents:
    """The shared libraries of every suite and component of ``sources`` for ``arch``."""
    folders = frozenset(library_folders(arch))
    merged: dict[str, tuple[str, ...]] = {}
    with client_or_new(client) as http:
        for source, suite, release in fetch_releases(sources, cache=cache, client=http):
            for component in source.components:
                part = _load_one(http, release, source=source, suite=suite,
                                 component=component, arch=arch, folders=folders,
                                 cache=cache, progress=progress)
                for path, packages in part.items():
                    merged[path] = tuple(dict.fromkeys(merged.get(path, ()) + packages))
    return LibraryContents(arch=arch, paths=merged)


def _load_one(
    client: httpx.Client, release: Release, *, source: Source, suite: str, component: str,
    arch: str, folders: frozenset[str], cache: Path, progress: Progress,
) -> dict[str, tuple[str, ...]]:
    path = f"{component}/Contents-{arch}.gz"
    entry = release.files.get(path)
    if entry is None:
        return {}  # some suites (security) publish no Contents index
    parsed = cache / "parsed" / f"{entry.sha256}.{arch}.{_FORMAT}"
    cached = _read_parsed(parsed)
    if cached is not None:
        return cached
    compressed = fetch_release_file(client, release, uri=source.uri, suite=suite, path=path,
                                    cache=cache, progress=progress)
    task = progress.task(f"Reading {suite}/{path}")
    try:
        try:
            text = igzip.decompress(compressed.read_bytes())  # type: ignore[no-untyped-call]
        except (OSError, EOFError, ValueError) as exc:
            raise FormatError(f"{suite}/{path} from {source.uri}: not gzip data: {exc}") from exc
        libraries = parse_contents(text, folders=folders)
        atomic_write_bytes(parsed, marshal.dumps(libraries))
    finally:
        task.finish()
    return libraries


def parse_contents(data: bytes, *, folders: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Path -> package names for the ``.so`` files directly in ``folders`` of a Contents file.

    A line is ``PATH  [[$AREA/]$SECTION/]$NAME[,...]``; paths may contain spaces,
    so the last whitespace-separated word is the package list.
    """
    found: dict[str, tuple[str, ...]] = {}
    for line in data.split(b"\n"):
        if not line.startswith((b"lib/", b"usr/lib/")) or b".so" not in line:
            continue
        fields = line.rsplit(None, 1)
        if len(fields) != 2:
            continue
        path = fields[0].decode("utf-8", "surrogateescape")
        folder, _, name = path.rpartition("/")
        if folder not in folders or ".so" not in name:
            continue
        packages = tuple(item.rpartition(b"/")[2].decode("ascii", "replace")
                         for item in fields[1].split(b","))
        found[path] = tuple(dict.fromkeys(found.get(path, ()) + packages))
    return found


def _read_parsed(path: Path) -> dict[str, tuple[str, ...]] | None:
    """The cached map, or None when it is missing or unreadable (it is rebuilt)."""
    try:
        value = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None
