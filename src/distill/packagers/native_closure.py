"""The Debian packages an app's native code needs: ELF files -> DT_NEEDED -> packages.

Used by every packager (binary, python, node, java). For each ELF file of the
app (a program, an extension module, a ``.node`` addon, a JNI library):

- its glibc symbol versions are checked against the release's libc6 (a newer
  one is a build error naming the file, the version and the release that has it);
- each DT_NEEDED library is satisfied by glibc, by a file of that name in the
  app (a wheel's ``*.libs/`` folder, the same folder, its RPATH/RUNPATH, or a
  library loaded before it by soname), or else by the Debian package the
  release's verified Contents index says ships it in the loader's folders.

Files linked against another libc (musl, Android's bionic) are skipped: such
files ride along in multi-platform jars and never load on a glibc system.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.config import RELEASES, Config
from distill.debian.contents import LibraryContents, load_contents
from distill.debian.freshness import max_age
from distill.debian.index import PackageIndex, parse_version
from distill.debian.repository import find_versions, load_packages
from distill.debian.resolver import resolve
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from distill.errors import ConfigError, DistillError
from distill.flavors import lineage
from distill.fsutil import atomic_write_bytes
from distill.layers.fingerprint import cache_key
from distill.packagers import NativeNeed, PrepareContext
from distill.packagers.elf import ElfInfo, version_key

GLIBC_SONAMES = frozenset({
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2",
    "libutil.so.1", "libanl.so.1", "libmvec.so.1", "libBrokenLocale.so.1", "libnss_files.so.2",
    "libnss_dns.so.2", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
})
"""Libraries (and loaders) that Debian's libc6 ships in every release: a program that
needs only these is placed without reading the release's Contents index."""


@dataclass(frozen=True)
class NativeFile:
    """One ELF file of an app, named as the user knows it (``cv2/cv2.abi3.so``)."""

    path: str
    info: ElfInfo


def shown(path: Path) -> str:
    """``path`` as a user would type it: relative to the working folder when inside it."""
    if not path.is_absolute():
        return str(path)
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return f"./{relative}"


def is_glibc_linked(info: ElfInfo) -> bool:
    """Whether the file loads with glibc's loader (not musl's or Android's)."""
    if info.interpreter is not None:
        return posixpath.basename(info.interpreter) in GLIBC_SONAMES
    return bool(info.glibc_versions) or "libc.so.6" in info.needed


def native_needs(files: Sequence[NativeFile], *, config: Config, arch: str,
                 context: PrepareContext, index: PackageIndex,
                 provided: Collection[str] = (), foreign_libc: bool = False) -> list[NativeNeed]:
    """Every library ``files`` link that the app itself lacks, with its package (libc6 too).

    ``provided`` names more files the app (or its runtime) has besides ``files``;
    ``foreign_libc`` keeps files linked against another libc (a program the user
    names), whose libc then has no package.
    Raises ConfigError for a glibc too new for the release or a library no package ships.
    """
    checked = [f for f in files if f.info.arch == arch
               and (foreign_libc or is_glibc_linked(f.info))]
    if not checked:
        return []
    cache = context.cache / "debian"
    for file in checked:
        check_glibc(file, index, release=config.release, arch=arch,
                    custom_sources=bool(config.repositories), cache=cache)
    inside = {posixpath.basename(f.path) for f in files} | set(provided)
    wanted = [(file, soname) for file in checked for soname in _sonames(file.info)
              if soname not in inside]
    if all(soname in GLIBC_SONAMES for _, soname in wanted):
        return [NativeNeed("libc6", file.path, soname) for file, soname in wanted]
    contents = load_contents(context.sources, arch=arch, cache=cache, progress=context.progress)
    return [NativeNeed("libc6" if soname in GLIBC_SONAMES
                       else _provider(file, soname, contents, index, release=config.release),
                       file.path, soname)
            for file, soname in wanted]


def package_index(sources: Sequence[Source], *, arch: str,
                  context: PrepareContext) -> PackageIndex:
    """The release's Packages index for ``arch`` (verified, cached)."""
    records = load_packages(sources, arch=arch, cache=context.cache / "debian",
                            progress=context.progress)
    return PackageIndex(records, arch=arch)


def base_closure(index: PackageIndex, *, base: str, release: str, arch: str) -> set[str]:
    """Every package the base image installs: its flavors' packages and their dependencies."""
    chain = lineage(base)
    requests = [p for flavor in chain for p in flavor.packages_for(release)]
    if not requests:
        return set()
    ignore = frozenset(name for flavor in chain for name in flavor.ignore_deps)
    return {record.name for record in resolve(index, requests, arch=arch, ignore=ignore)}


def added_needs(needs: Iterable[NativeNeed], *, have: Collection[str]) -> list[NativeNeed]:
    """The needs whose package is not in ``have``, one per (package, file, soname)."""
    return list(dict.fromkeys(n for n in needs if n.package not in have))


def needs_for_app(files: Sequence[NativeFile], *, config: Config, context: PrepareContext,
                  provided: Collection[str] = ()) -> list[NativeNeed]:
    """The packages an app on ``config.base`` lacks for its native files, for every
    architecture; recorded on ``context`` for the build's report."""
    key = _needs_key(files, config=config, context=context, provided=provided)
    added = _cached_needs(key, context=context)
    if added is None:
        added = []
        for arch in context.archs:
            if not any(f.info.arch == arch for f in files):
                continue
            index = package_index(context.sources, arch=arch, context=context)
            needs = native_needs(files, config=config, arch=arch, context=context, index=index,
                                 provided=provided)
            if not needs:
                continue
            have = base_closure(index, base=config.base, release=config.release, arch=arch)
            added += added_needs(needs, have=have | set(config.packages))
        added = list(dict.fromkeys(added))
        _store_needs(key, added, context=context)
    context.notes.extend(added)
    return added


def _needs_key(files: Sequence[NativeFile], *, config: Config, context: PrepareContext,
               provided: Collection[str]) -> str:
    """What the answer depends on: each file's links and glibc, the base, the release,
    the packages asked for, the sources (the indexes' age is checked on reading)."""
    described = sorted((f.path, f.info.arch, list(f.info.needed), f.info.interpreter,
                        f.info.glibc_required) for f in files)
    return cache_key(kind="native-needs", files=described, base=config.base,
                     release=config.release, packages=sorted(config.packages),
                     provided=sorted(provided), archs=list(context.archs),
                     sources=[str(source) for source in context.sources],
                     repositories=bool(config.repositories))


def _needs_path(key: str, context: PrepareContext) -> Path:
    return context.cache / "native-needs" / f"{key}.json"


def _cached_needs(key: str, *, context: PrepareContext) -> list[NativeNeed] | None:
    """A recent answer for ``key`` (younger than ``DISTILL_INDEX_MAX_AGE``), or None."""
    path = _needs_path(key, context)
    try:
        age = time.time() - path.stat().st_mtime
        rows = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not 0 <= age < max_age() or not isinstance(rows, list):
        return None
    try:
        return [NativeNeed(package=str(r["package"]), path=str(r["path"]),
                           soname=str(r["soname"])) for r in rows]
    except (KeyError, TypeError):
        return None


def _store_needs(key: str, needs: Sequence[NativeNeed], *, context: PrepareContext) -> None:
    rows = [{"package": n.package, "path": n.path, "soname": n.soname} for n in needs]
    with contextlib.suppress(OSError):  # without it the next build works it out again
        atomic_write_bytes(_needs_path(key, context), json.dumps(rows).encode())


def report_lines(needs: Sequence[NativeNeed]) -> list[str]:
    """One line per added package, in the order they were added:
    ``added libgl1 for cv2/cv2.abi3.so (libGL.so.1)``, ``... and 3 more files``."""
    by_package: dict[str, list[NativeNeed]] = {}
    for need in needs:
        by_package.setdefault(need.package, []).append(need)
    lines = []
    for package, group in by_package.items():
        files = list(dict.fromkeys(n.path for n in group))
        sonames = ", ".join(dict.fromkeys(n.soname for n in group))
        more = len(files) - 1
        tail = f" and {more} more file{'s' if more > 1 else ''}" if more else ""
        lines.append(f"added {package} for {files[0]} ({sonames}){tail}")
    return lines


def with_packages(config: Config, needs: Iterable[NativeNeed]) -> Config:
    """``config`` with the needs' packages added to ``packages:`` (once each)."""
    packages = list(dict.fromkeys([*config.packages, *(n.package for n in needs)]))
    return config.model_copy(update={"packages": packages})


def _sonames(info: ElfInfo) -> list[str]:
    sonames = list(info.needed)
    if info.interpreter is not None:
        sonames.append(posixpath.basename(info.interpreter))
    return list(dict.fromkeys(sonames))


def _provider(file: NativeFile, soname: str, contents: LibraryContents, index: PackageIndex,
              *, release: str) -> str:
    """The package that ships ``soname``: one the index has, preferring the cc base's own."""
    providers = [p for p in contents.providers(soname) if index.versions(p)]
    if not providers:
        searched = ", ".join(f"/{folder}" for folder in contents.folders)
        raise ConfigError(
            f"{file.path} needs {soname}, which no Debian package of {release}"
            f" ({contents.arch}) provides in {searched}"
        )
    usual = {p for flavor in lineage("cc") for p in flavor.packages_for(release)}
    return next((p for p in providers if p in usual), providers[0])


def glibc_version(index: PackageIndex) -> str | None:
    """The upstream glibc version of the newest libc6 in ``index`` (``"2.36"``), or None."""
    versions = index.versions("libc6")
    return _upstream_glibc(versions[0].version) if versions else None


def _upstream_glibc(version: str) -> str:
    """``"2.36-9+deb12u10"`` -> ``"2.36"``."""
    upstream = version.split(":", 1)[-1].split("-", 1)[0]
    return ".".join(upstream.split(".")[:2])


def check_glibc(file: NativeFile, index: PackageIndex, *, release: str, arch: str,
                custom_sources: bool, cache: Path) -> None:
    """Refuse a file that needs a newer glibc than the release has, naming one that has it."""
    needed = file.info.glibc_required
    have = glibc_version(index)
    if needed is None or have is None or version_key(needed) <= version_key(have):
        return
    hint = "" if custom_sources else _newer_release_hint(needed, release, arch=arch, cache=cache)
    raise ConfigError(
        f"{file.path} needs glibc {needed} (GLIBC_{needed}) but {release} has glibc"
        f" {have}{hint}; build it against glibc {have} or older"
    )


def _newer_release_hint(needed: str, release: str, *, arch: str, cache: Path) -> str:
    """``"; trixie has glibc 2.41 (use --release trixie)"``, or "" when none is newer.

    Only each later release's libc6 versions are read from its Packages indexes.
    """
    for candidate in RELEASES[RELEASES.index(release) + 1:]:
        try:
            sources: list[Source] = debian_sources_for(read_host_sources(), candidate)
            versions = find_versions(sources, name="libc6", arch=arch, cache=cache)
        except DistillError:
            return ""
        if not versions:
            continue
        have = _upstream_glibc(max(versions, key=parse_version))
        if version_key(needed) <= version_key(have):
            return f"; {candidate} has glibc {have} (use --release {candidate})"
    return ""
