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
import posixpath
from collections.abc import Iterable, Sequence

from distill.config import App, Config
from distill.errors import ConfigError
from distill.flavors import lineage
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, NativeNeed, PrepareContext
from distill.packagers.elf import ElfInfo, read_elf
from distill.packagers.native_closure import (
    NativeFile,
    added_needs,
    native_needs,
    package_index,
    shown,
)
from distill.rootfs.tree import FileTree

AUTO_BASES: tuple[str, ...] = ("static", "base-nossl", "base", "cc")
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


def library_needs(info: ElfInfo, config: Config, *,
                  context: PrepareContext) -> list[NativeNeed]:
    """The libraries (and loader) the program links and their Debian packages (none if static).

    They are looked up for the first architecture of ``context``; the glibc it
    needs is checked against the release.
    """
    if info.is_static:
        return []
    arch = context.archs[0]
    index = package_index(context.sources, arch=arch, context=context)
    program = NativeFile(path=shown(info.path), info=info)
    return native_needs([program], config=config, arch=arch, context=context, index=index,
                        foreign_libc=True)


def library_packages(info: ElfInfo, config: Config, *, context: PrepareContext) -> list[str]:
    """The Debian packages that provide the program's loader and libraries (none if static)."""
    return list(dict.fromkeys(n.package for n in library_needs(info, config, context=context)))


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
        needs = library_needs(info, config, context=context) if context.archs else []
        update = base_and_packages(config, [n.package for n in needs])
        have = _base_packages(str(update["base"]), config.release) | set(config.packages)
        context.notes.extend(added_needs(needs, have=have))
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


def _check_arch(info: ElfInfo, arch: str) -> None:
    if info.arch != arch:
        raise ConfigError(
            f"{shown(info.path)} is an {info.arch} ({info.machine}) binary but the image is"
            f" {arch}; build it for {arch} or use --arch {info.arch}"
        )
