"""Which packages go into which layer, for one architecture.

A plan is a list of groups in layer order: one group per flavor in the
flavor's parent chain (``static``, then ``base-nossl``, ...), then the user's
extra ``packages:``, then ``data``: packages that are only read for their
files (the CA certificates) and never installed. A plan comes from the
repository index (resolving) or from distill.lock (``--locked``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from distill.debian.index import PackageIndex
from distill.debian.lock import Lock, LockedPackage
from distill.debian.records import PackageRecord
from distill.debian.resolver import resolve
from distill.errors import LockError, ResolveError
from distill.flavors import Flavor

EXTRA_GROUP = "packages"
DATA_GROUP = "data"


@dataclass(frozen=True)
class PackageGroup:
    """Packages that land in one layer (or, for ``data``, are only read)."""

    layer: str
    packages: tuple[LockedPackage, ...]


@dataclass(frozen=True)
class PackagePlan:
    """Every package of one architecture, grouped by layer."""

    arch: str
    groups: tuple[PackageGroup, ...]

    def group(self, layer: str) -> tuple[LockedPackage, ...]:
        """The packages of ``layer`` (empty when it has none)."""
        for group in self.groups:
            if group.layer == layer:
                return group.packages
        return ()

    def all_packages(self) -> tuple[LockedPackage, ...]:
        """Every package, in group order."""
        return tuple(p for g in self.groups for p in g.packages)


def plan_from_index(
    records: Sequence[PackageRecord],
    *,
    arch: str,
    release: str,
    chain: Sequence[Flavor],
    extra: Sequence[str],
) -> PackagePlan:
    """Resolve the flavor chain and the extra packages against a repository index."""
    index = PackageIndex(records, arch=arch, release=release)
    ignore = frozenset(name for flavor in chain for name in flavor.ignore_deps)
    levels = [(flavor.name, list(flavor.packages_for(release))) for flavor in chain]
    if extra:
        levels.append((EXTRA_GROUP, list(extra)))
    everything = [request for _, wanted in levels for request in wanted]
    # Resolve the whole set once so every layer agrees on versions, then place
    # each package in the first layer whose requests need it.
    final = PackageIndex(resolve(index, everything, arch=arch, ignore=ignore), arch=arch,
                         release=release)
    requests: list[str] = []
    chosen: set[str] = set()
    groups: list[PackageGroup] = []
    for layer, wanted in levels:
        requests.extend(wanted)
        resolved = resolve(final, requests, arch=arch, ignore=ignore)
        own = tuple(LockedPackage.from_record(r, layer=layer)
                    for r in resolved if r.name not in chosen)
        chosen.update(p.name for p in own)
        groups.append(PackageGroup(layer, own))
    data_names = dict.fromkeys(name for flavor in chain for name in flavor.data_packages)
    data = [_newest(index, name, arch=arch, release=release) for name in data_names]
    if data:
        groups.append(PackageGroup(
            DATA_GROUP, tuple(LockedPackage.from_record(r, layer=DATA_GROUP) for r in data)))
    return PackagePlan(arch, tuple(g for g in groups if g.packages))


def plan_from_lock(lock: Lock, *, arch: str, layers: Sequence[str]) -> PackagePlan:
    """The plan a lock file pins for ``arch``; ``layers`` are the flavor layers in order."""
    order = [*layers, EXTRA_GROUP, DATA_GROUP]
    groups: dict[str, list[LockedPackage]] = {name: [] for name in order}
    for package in lock.packages[arch]:
        if package.layer not in groups:
            raise LockError(
                f"distill.lock puts {package.name} in layer '{package.layer}', which this "
                f"image does not have (layers: {', '.join(order)}); run `distill lock`"
            )
        groups[package.layer].append(package)
    return PackagePlan(arch, tuple(
        PackageGroup(name, tuple(groups[name])) for name in order if groups[name]
    ))


def _newest(index: PackageIndex, name: str, *, arch: str, release: str) -> PackageRecord:
    versions = index.versions(name)
    if not versions:
        raise ResolveError(f"unknown package '{name}' in {release}/{arch}")
    return versions[0]
