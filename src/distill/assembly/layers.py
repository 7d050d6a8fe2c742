"""The layers distill makes for an image: flavors, extra packages, packagers, files."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill import packagers
from distill.assembly.host_files import FilesRecipe, recipe_layer
from distill.assembly.plan import DATA_GROUP, EXTRA_GROUP, PackagePlan
from distill.assembly.remote_base import RemoteBase
from distill.config import Config
from distill.debian.deb import read_deb
from distill.debian.lock import LockedPackage
from distill.errors import ConfigError
from distill.flavors import Flavor, build_flavor_layer
from distill.flavors.model import no_files
from distill.fsutil import cache_root
from distill.layers.fingerprint import cache_key
from distill.layers.store import LayerStore
from distill.oci.model import Layer
from distill.packagers import AppLayer, LayerContext
from distill.progress import Progress
from distill.rootfs.merged_usr import add_merged_usr_links
from distill.rootfs.packages import install_deb
from distill.rootfs.tree import FileTree


@dataclass(frozen=True)
class BuildContext:
    """What every layer of one build needs."""

    config: Config
    chain: tuple[Flavor, ...]
    epoch: int
    store: LayerStore
    debs: Mapping[str, Path]
    """sha256 -> .deb path."""
    progress: Progress
    base: RemoteBase | None = None


def flavor_layer(context: BuildContext, plan: PackagePlan, flavor: Flavor) -> Layer | None:
    """The layer of one flavor of the chain (None for one with nothing in it), cached."""
    own = plan.group(flavor.name)
    if not own and flavor.generate is no_files:
        return None
    data = {p.name: context.debs[p.sha256] for p in plan.group(DATA_GROUP)
            if p.name in flavor.data_packages}
    certificates = (list(context.config.certificates)
                    if "ca-certificates" in flavor.data_packages else [])
    lower = _lower_packages(context, plan, flavor) if flavor.needs_lower else []
    bytecode = context.config.python.bytecode if flavor.compiles_python else "pyc"
    key = cache_key(
        kind="flavor", flavor=flavor.name, release=context.config.release, arch=plan.arch,
        mtime=context.epoch,
        packages=sorted(p.sha256 for p in own), data=sorted(p.sha256 for p in
                                                            plan.group(DATA_GROUP)
                                                            if p.name in data),
        certificates=[_file_digest(c) for c in certificates],
        lower=sorted(p.sha256 for p in lower),
        **({"bytecode": bytecode} if flavor.compiles_python else {}),
    )
    return context.store.build(
        key,
        lambda: build_flavor_layer(
            flavor, release=context.config.release,
            installed=[context.debs[p.sha256] for p in own], data=data,
            extra_certificates=certificates, arch=plan.arch,
            lower=[context.debs[p.sha256] for p in lower], bytecode=bytecode,
        ).tree,
        mtime=context.epoch,
    )


def _lower_packages(context: BuildContext, plan: PackagePlan,
                    flavor: Flavor) -> list[LockedPackage]:
    """The packages of the layers below ``flavor``'s."""
    below = [f.name for f in context.chain[:context.chain.index(flavor)]]
    return [p for name in below for p in plan.group(name)]


def extra_layer(context: BuildContext, plan: PackagePlan) -> Layer:
    """The layer of the configuration's extra ``packages:``, cached."""
    packages = plan.group(EXTRA_GROUP)

    def make_tree() -> FileTree:
        tree = FileTree()
        for package in sorted(packages, key=lambda p: p.name):
            install_deb(tree, read_deb(context.debs[package.sha256]))
        add_merged_usr_links(tree)
        return tree

    key = cache_key(kind="packages", packages=sorted(p.sha256 for p in packages),
                    mtime=context.epoch)
    return context.store.build(key, make_tree, mtime=context.epoch)


def packager_layers(context: BuildContext, plan: PackagePlan) -> Sequence[AppLayer]:
    """The layers of the packager steps (app, health probe) for ``plan.arch``."""
    base = {p.sha256: context.debs[p.sha256] for flavor in context.chain
            for p in plan.group(flavor.name)}
    layer_context = LayerContext(arch=plan.arch, release=context.config.release,
                                 store=context.store, epoch=context.epoch, cache=cache_root(),
                                 progress=context.progress, base_debs=base)
    return packagers.app_layers(context.config, context=layer_context)


def files_layer(context: BuildContext, recipe: FilesRecipe) -> Layer | None:
    """The user's files, paths and accounts (``recipe``); None when there are none."""
    return recipe_layer(recipe, store=context.store, epoch=context.epoch)


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"certificates: cannot read {path}: {exc.strerror}") from exc

