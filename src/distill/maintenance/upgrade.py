"""``distill lock --upgrade``: move a lock's packages to newer versions, and nothing else.

The lock is not resolved again from scratch (that could change unrelated
packages). For each package to upgrade the newest version is taken from the
current indexes (only ``-security`` suites with ``security_only``); then the
whole installed set is resolved with every package pinned to its old or new
version, which checks that each dependency still holds and adds what a new
version needs besides. Only those entries change; the Date of a suite changes
only when a new version comes from it, and the configChecksum stays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from distill.assembly.plan import DATA_GROUP, EXTRA_GROUP
from distill.assembly.resolution import chosen_archs, flavor_layers, prepare_config, sources_for
from distill.config import Config
from distill.debian.download import new_client
from distill.debian.index import PackageIndex, compare_versions
from distill.debian.lock import Lock, LockedPackage, read_lock, write_lock
from distill.debian.records import PackageRecord
from distill.debian.repository import fetch_releases, load_records, release_indexes
from distill.debian.resolver import resolve
from distill.debian.sources import known_suites
from distill.errors import ConfigError, ResolveError
from distill.fsutil import cache_root
from distill.maintenance.outdated import is_security_suite
from distill.progress import SILENT, Progress


@dataclass(frozen=True, kw_only=True)
class Change:
    """One entry of the lock that changed (``old`` is None for a new dependency)."""

    arch: str
    name: str
    old: str | None
    new: str
    suite: str


@dataclass(frozen=True, kw_only=True)
class Upgrade:
    """What ``upgrade_lock`` did: the new lock (written only when something changed)."""

    lock: Lock
    changes: tuple[Change, ...]
    suites: tuple[str, ...] = ()
    """The suites whose indexes were read."""

    @property
    def sees_security(self) -> bool:
        """Whether a ``-security`` suite was among those read."""
        return any(is_security_suite(suite) for suite in self.suites)


def upgrade_lock(
    config: Config, *, lock_path: Path, security_only: bool = False,
    names: Collection[str] = (), progress: Progress = SILENT,
) -> Upgrade:
    """Upgrade the packages of the lock at ``lock_path`` (all, or only ``names``) to the
    newest versions of ``config``'s sources, and write it when something changed."""
    archs = chosen_archs(config, None)
    sources = sources_for(config)
    config = prepare_config(config, archs, sources, progress)
    old = read_lock(lock_path)
    old.check(config_checksum=config.package_checksum(), archs=archs, release=config.release)
    _check_names(old, names)
    ignore = frozenset(name for flavor in flavor_layers(config) for name in flavor.ignore_deps)
    cache = cache_root() / "debian"
    packages = dict(old.packages)
    changes: list[Change] = []
    with new_client() as http:
        releases = fetch_releases(sources, cache=cache, client=http)
        for arch in sorted(old.packages):
            records = load_records(release_indexes(releases, arch=arch), cache=cache,
                                   progress=progress, client=http)
            packages[arch], found = upgrade_packages(
                old.packages[arch], records, arch=arch, ignore=ignore,
                security_only=security_only, names=names)
            changes += found
    suites = tuple(known_suites(sources))
    if not changes:
        return Upgrade(lock=old, changes=(), suites=suites)
    dates = {suite: release.date for _, suite, release in releases if release.date is not None}
    new = dataclasses.replace(old, packages=packages,
                              suite_dates=_suite_dates(old.suite_dates, dates, changes))
    write_lock(lock_path, new)
    return Upgrade(lock=new, changes=tuple(changes), suites=suites)


def _check_names(lock: Lock, names: Collection[str]) -> None:
    locked = {p.name for packages in lock.packages.values() for p in packages}
    missing = sorted(set(names) - locked)
    if missing:
        raise ConfigError(f"{', '.join(missing)}: not in distill.lock, so there is nothing"
                          " to upgrade (add it to packages: and run `distill lock`)")


def upgrade_packages(
    locked: Sequence[LockedPackage], records: Sequence[PackageRecord], *, arch: str,
    ignore: Collection[str], security_only: bool, names: Collection[str],
) -> tuple[tuple[LockedPackage, ...], list[Change]]:
    """One architecture's locked packages after the upgrade (sorted by name), and the changes.

    ``records`` are that architecture's current index records; ``ignore`` the
    dependencies the flavors leave out.
    """
    index = PackageIndex(records, arch=arch)
    targets = {
        package.name: record for package in locked
        if (not names or package.name in names)
        and (record := _newest(index, package, security_only=security_only)) is not None
    }
    if not targets:
        return tuple(locked), []
    installed = [p for p in locked if p.layer != DATA_GROUP]
    requests = [f"{p.name}={targets[p.name].version if p.name in targets else p.version}"
                for p in installed]
    missing = _missing(installed, index)
    stand_in = PackageIndex([*records, *missing], arch=arch) if missing else index
    try:
        resolved = {r.name: r for r in resolve(stand_in, requests, arch=arch, ignore=ignore)}
    except ResolveError as exc:
        raise ResolveError(f"the upgraded packages do not fit the rest of distill.lock ({exc});"
                           " name the packages to upgrade together, or run `distill lock`"
                           ) from exc
    by_name = {p.name: p for p in locked}
    result, changes = [], []
    for package in locked:
        record = targets.get(package.name) if package.layer == DATA_GROUP else \
            resolved.get(package.name)
        if record is None or record.version == package.version:
            result.append(package)
            continue
        result.append(LockedPackage.from_record(record, layer=package.layer))
        changes.append(Change(arch=arch, name=package.name, old=package.version,
                              new=record.version, suite=record.suite))
    for name, record in sorted(resolved.items()):
        if name not in by_name:
            layer = _layer_for(record, targets, by_name)
            result.append(LockedPackage.from_record(record, layer=layer))
            changes.append(Change(arch=arch, name=name, old=None, new=record.version,
                                  suite=record.suite))
    return tuple(sorted(result, key=lambda p: p.name)), changes


def _newest(index: PackageIndex, package: LockedPackage, *,
            security_only: bool) -> PackageRecord | None:
    for record in index.versions(package.name):
        if security_only and not is_security_suite(record.suite):
            continue
        return record if compare_versions(record.version, package.version) > 0 else None
    return None


def _missing(locked: Sequence[LockedPackage], index: PackageIndex) -> list[PackageRecord]:
    """Stand-ins for locked versions the mirror no longer lists (a point release replaced
    them): their relations are unknown, so they are taken as they were."""
    have = {(r.name, r.version) for p in locked for r in index.versions(p.name)}
    return [
        PackageRecord(name=p.name, version=p.version, architecture=p.architecture,
                      filename=p.filename, size=p.size, sha256=p.sha256, suite=p.suite,
                      component=p.component, uri="", source=p.name)
        for p in locked if (p.name, p.version) not in have
    ]


def _layer_for(record: PackageRecord, targets: Mapping[str, PackageRecord],
               locked: Mapping[str, LockedPackage]) -> str:
    """The layer of the upgraded package that (by name) depends on ``record``."""
    for name, target in sorted(targets.items()):
        relations = f"{target.depends},{target.pre_depends}"
        if record.name in {part.split("(")[0].split(":")[0].strip()
                           for group in relations.split(",") for part in group.split("|")}:
            return locked[name].layer
    return EXTRA_GROUP


def _suite_dates(old: Mapping[str, datetime], current: Mapping[str, datetime],
                 changes: Sequence[Change]) -> dict[str, datetime]:
    dates = dict(old)
    for suite in {change.suite for change in changes}:
        if suite in current:
            dates[suite] = current[suite]
    return dates
