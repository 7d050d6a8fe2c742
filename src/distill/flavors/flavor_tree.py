"""Building the file tree of one flavor's layer from downloaded packages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from distill.config.python_settings import Bytecode
from distill.debian.deb import DebArchive, read_deb
from distill.errors import ConfigError
from distill.flavors.model import Flavor, GenerateContext
from distill.progress import SILENT, Progress
from distill.rootfs.certificates import read_pem_files
from distill.rootfs.merged_usr import add_merged_usr_links
from distill.rootfs.packages import InstalledPackage, install_deb
from distill.rootfs.tree import FileTree


@dataclass(frozen=True)
class FlavorLayer:
    """The tree of a flavor's layer and the packages installed into it."""

    tree: FileTree
    packages: tuple[InstalledPackage, ...]


def build_flavor_layer(
    flavor: Flavor,
    *,
    release: str,
    installed: Sequence[Path],
    data: Mapping[str, Path],
    extra_certificates: Sequence[Path] = (),
    arch: str = "amd64",
    lower: Sequence[Path] = (),
    bytecode: Bytecode = "pyc",
    progress: Progress = SILENT,
) -> FlavorLayer:
    """Install the ``installed`` .debs (the flavor's resolved packages, without its
    parent's), then add the flavor's generated files.

    ``data`` maps each of ``flavor.data_packages`` to its .deb. Packages are
    installed in package-name order, so the result does not depend on the
    order of ``installed``. ``lower`` are the parent layers' .debs; they are
    unpacked (not into the layer) only for flavors whose generator reads them.
    ``bytecode`` is what a flavor that ``compiles_python`` does with its sources.
    """
    missing = [name for name in flavor.data_packages if name not in data]
    if missing:
        raise ConfigError(f"flavor {flavor.name} needs the data package(s) {', '.join(missing)}")
    debs = sorted((read_deb(path) for path in installed), key=_package_name)
    tree = FileTree()
    task = progress.task(f"installing {flavor.name} packages", total=len(debs))
    packages = []
    for deb in debs:
        packages.append(install_deb(tree, deb, drop=flavor.dropper()))
        task.advance(1)
    task.finish()
    if debs:
        add_merged_usr_links(tree)
    context = GenerateContext(
        release=release,
        data={name: read_deb(data[name]) for name in flavor.data_packages},
        extra_certificates=read_pem_files(extra_certificates),
        arch=arch,
        lower=lower_tree(lower) if flavor.needs_lower else None,
        bytecode=bytecode,
    )
    flavor.generate(tree, context)
    return FlavorLayer(tree=tree, packages=tuple(packages))


def lower_tree(debs: Sequence[Path]) -> FileTree:
    """The files of the parent layers' packages, unpacked with the default slimming."""
    tree = FileTree()
    for deb in sorted((read_deb(path) for path in debs), key=_package_name):
        install_deb(tree, deb)
    if len(tree):
        add_merged_usr_links(tree)
    return tree


def _package_name(deb: DebArchive) -> str:
    for line in deb.control.splitlines():
        if line.startswith("Package:"):
            return line.partition(":")[2].strip()
    return ""
