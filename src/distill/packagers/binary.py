"""The ELF packager: ``app: {type: binary, path: ./myprog}``.

``prepare`` reads the program's ELF headers, checks its architecture and the
glibc it needs against the release, finds the Debian package of every shared
library it links through the release's Contents index, picks the smallest
base that has them (``base: auto``) and adds the rest to ``packages`` (so they
are resolved with their dependencies and listed in status.d; nothing is
copied from the host). ``layers`` puts the program at ``<dst>/<file name>``.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path

from distill.config import RELEASES, App, Config
from distill.debian.contents import LibraryContents, load_contents
from distill.debian.index import PackageIndex, parse_version
from distill.debian.repository import find_versions, load_packages
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from distill.errors import ConfigError, DistillError
from distill.flavors import lineage
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, PrepareContext
from distill.packagers.elf import ElfInfo, read_elf, version_key
from distill.rootfs.tree import FileTree

AUTO_BASES: tuple[str, ...] = ("static", "base-nossl", "base", "cc")
GLIBC_SONAMES = frozenset({
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2",
    "libutil.so.1", "libanl.so.1", "libmvec.so.1", "libBrokenLocale.so.1", "libnss_files.so.2",
    "libnss_dns.so.2", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
})
"""Libraries (and loaders) that Debian's libc6 ships in every release: a program that
needs only these is placed without reading the release's Contents index."""
"""The bases ``base: auto`` chooses from, smallest first."""


def binary_path(app: App) -> str:
    """Where the program goes in the image: ``<dst>/<file name>``."""
    return posixpath.join(app.dst, app.path.name)


def choose_base(packages: Iterable[str], *, release: str) -> str:
    """The smallest of :data:`AUTO_BASES` that has every package in ``packages`` it can have.

    Packages none of them has (``libsqlite3-0``) do not count: they are extra packages.
    """
    wanted = set(packages)
    tiers = {name: _base_packages(name, release) for name in AUTO_BASES}
    covered = wanted & tiers[AUTO_BASES[-1]]
    return next(name for name in AUTO_BASES if covered <= tiers[name])


def library_packages(info: ElfInfo, config: Config, *, context: PrepareContext) -> list[str]:
    """The Debian packages that provide the program's loader and libraries (none if static).

    They are looked up for the first architecture of ``context``; the glibc it
    needs is checked against the release.
    """
    if info.is_static:
        return []
    arch = context.archs[0]
    cache = context.cache / "debian"
    index = PackageIndex(load_packages(context.sources, arch=arch, cache=cache,
                                       progress=context.progress), arch=arch)
    _check_glibc(info, index, release=config.release, arch=arch,
                 custom_sources=bool(config.repositories), cache=cache)
    sonames = list(info.needed)
    if info.interpreter is not None:
        sonames.append(posixpath.basename(info.interpreter))
    if all(soname in GLIBC_SONAMES for soname in sonames):
        return ["libc6"]  # no need for the (large) Contents index
    contents = load_contents(context.sources, arch=arch, cache=cache,
                             progress=context.progress)
    return list(dict.fromkeys(
        "libc6" if soname in GLIBC_SONAMES
        else _provider(info, soname, contents, index, release=config.release)
        for soname in sonames
    ))


def base_and_packages(config: Config, packages: Sequence[str]) -> dict[str, object]:
    """The ``base`` (``auto`` made the smallest that has ``packages``) and the ``packages``
    the base lacks, as a model update of ``config``."""
    base: str = config.base
    if base == "auto":
        base = choose_base(packages, release=config.release)
    extra = [p for p in packages if p not in _base_packages(base, config.release)]
    return {"base": base, "packages": list(dict.fromkeys([*config.packages, *extra]))}


class BinaryStep:
    """The packaging step of ELF programs (see the module docstring)."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Check the program against the image and fill in base, packages and entrypoint."""
        app = _app(config)
        info = read_elf(app.path)
        for arch in context.archs:
            _check_arch(info, arch)
        packages = library_packages(info, config, context=context) if context.archs else []
        update = base_and_packages(config, packages)
        if config.entrypoint is None:
            update["entrypoint"] = [binary_path(app)]
        return config.model_copy(update=update)

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """One layer: the program at ``<dst>/<file name>``, mode 0755."""
        app = _app(config)
        try:
            data = app.path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {app.path}: {exc.strerror}") from exc
        target = binary_path(app)

        def make_tree() -> FileTree:
            tree = FileTree()
            tree.add_dir(app.dst, mode=0o755)
            tree.add_file(target, data, mode=0o755)
            return tree

        key = cache_key(kind="binary", sha256=hashlib.sha256(data).hexdigest(), path=target,
                        mtime=context.epoch)
        layer = context.store.build(key, make_tree, mtime=context.epoch)
        return [AppLayer(layer=layer, created_by=f"distill binary {target}")]


STEP = BinaryStep()
"""The step distill.packagers loads for ``app: {type: binary}``."""


def _app(config: Config) -> App:
    if config.app is None or config.app.type != "binary":
        raise ConfigError("the binary packager needs app: {type: binary, path: ...}")
    return config.app


def _base_packages(base: str, release: str) -> set[str]:
    return {p for flavor in lineage(base) for p in flavor.packages_for(release)}


def _shown(path: Path) -> str:
    """``path`` as a user would type it: relative to the working folder when inside it."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return f".{os.sep}{relative}"


def _check_arch(info: ElfInfo, arch: str) -> None:
    if info.arch != arch:
        raise ConfigError(
            f"{_shown(info.path)} is an {info.arch} ({info.machine}) binary but the image is"
            f" {arch}; build it for {arch} or use --arch {info.arch}"
        )


def _provider(info: ElfInfo, soname: str, contents: LibraryContents, index: PackageIndex, *,
              release: str) -> str:
    """The package that ships ``soname``: one the index has, preferring the base's own."""
    providers = [p for p in contents.providers(soname) if index.versions(p)]
    if not providers:
        searched = ", ".join(f"/{folder}" for folder in contents.folders)
        raise ConfigError(
            f"{_shown(info.path)} needs {soname}, which no Debian package of {release}"
            f" ({contents.arch}) provides in {searched}"
        )
    base = _base_packages(AUTO_BASES[-1], release)
    return next((p for p in providers if p in base), providers[0])


def glibc_version(index: PackageIndex) -> str | None:
    """The upstream glibc version of the newest libc6 in ``index`` (``"2.36"``), or None."""
    versions = index.versions("libc6")
    return _upstream_glibc(versions[0].version) if versions else None


def _upstream_glibc(version: str) -> str:
    """``"2.36-9+deb12u10"`` -> ``"2.36"``."""
    upstream = version.split(":", 1)[-1].split("-", 1)[0]
    return ".".join(upstream.split(".")[:2])


def _check_glibc(info: ElfInfo, index: PackageIndex, *, release: str, arch: str,
                 custom_sources: bool, cache: Path) -> None:
    needed = info.glibc_required
    have = glibc_version(index)
    if needed is None or have is None or version_key(needed) <= version_key(have):
        return
    hint = "" if custom_sources else _newer_release_hint(needed, release, arch=arch, cache=cache)
    raise ConfigError(
        f"{_shown(info.path)} needs glibc {needed} (GLIBC_{needed}) but {release} has glibc"
        f" {have}{hint}; build it against glibc {have} or older"
    )


def _newer_release_hint(needed: str, release: str, *, arch: str, cache: Path) -> str:
    """``"; trixie has glibc 2.41 (use --release trixie)"``, or "" when none is newer.

    Only each later release's libc6 versions are read from its Packages indexes.
    """
    later: Sequence[str] = RELEASES[RELEASES.index(release) + 1:]
    for candidate in later:
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
