"""Which packages of an image, a lock or a configuration have newer versions in the indexes.

The versions are compared in dpkg's order against the current, verified
Packages indexes of every suite of the sources (the release, ``-updates`` and
``-security``). ``security`` is true when a newer version is in a
``-security`` suite, even if an even newer one came with a point release.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from distill.debian.index import compare_versions, parse_version
from distill.debian.records import PackageRecord
from distill.debian.sources import Source, known_suites


@dataclass(frozen=True, kw_only=True)
class Pinned:
    """A package at a version: installed in an image or pinned by a lock."""

    name: str
    version: str


@dataclass(frozen=True, kw_only=True)
class Update:
    """A package with a newer version than the one installed."""

    name: str
    installed: str
    available: str
    """The newest version in any suite."""
    suite: str
    """The suite of ``available`` (a ``-security`` one when it is there too)."""
    security: bool
    """Whether a ``-security`` suite has a version newer than ``installed``."""

    def to_json(self) -> dict[str, Any]:
        """The package's object in ``distill outdated --format json``."""
        return {"name": self.name, "installed": self.installed, "available": self.available,
                "security": self.security, "suite": self.suite}


@dataclass(frozen=True, kw_only=True)
class OutdatedReport:
    """The outcome of a check: updates, packages no index knows, what was asked."""

    release: str
    updates: tuple[Update, ...]
    unknown: tuple[str, ...]
    """Names of installed packages that no suite's index has."""
    suites: tuple[str, ...]
    """The suites whose indexes were read."""

    @property
    def security_updates(self) -> tuple[Update, ...]:
        """The updates that include a security fix."""
        return tuple(update for update in self.updates if update.security)

    @property
    def sees_security(self) -> bool:
        """Whether a ``-security`` suite was among those read."""
        return any(is_security_suite(suite) for suite in self.suites)

    def to_json(self) -> dict[str, Any]:
        """``{"packages": [...], "unknown": [...]}``, as ``--format json`` prints it."""
        return {"packages": [update.to_json() for update in self.updates],
                "unknown": list(self.unknown)}


def is_security_suite(suite: str) -> bool:
    """``bookworm-security`` (and the older ``buster/updates`` form)."""
    return suite.endswith("-security") or suite.endswith("/updates")


def find_updates(
    pinned: Iterable[Pinned], records: Sequence[PackageRecord], *, release: str,
    sources: Sequence[Source],
) -> OutdatedReport:
    """Compare ``pinned`` with ``records`` (one architecture's, plus ``all``)."""
    wanted = list(pinned)
    names = {package.name for package in wanted}
    by_name: dict[str, list[PackageRecord]] = {}
    for record in records:
        if record.name in names:
            by_name.setdefault(record.name, []).append(record)
    updates: dict[str, Update] = {}
    unknown: set[str] = set()
    for package in wanted:
        candidates = by_name.get(package.name)
        if not candidates:
            unknown.add(package.name)
            continue
        update = _update(package, candidates)
        if update is not None:
            updates[package.name] = update
    return OutdatedReport(release=release, updates=tuple(updates[n] for n in sorted(updates)),
                          unknown=tuple(sorted(unknown)), suites=tuple(known_suites(sources)))


def _update(package: Pinned, candidates: Sequence[PackageRecord]) -> Update | None:
    newer = [r for r in candidates if compare_versions(r.version, package.version) > 0]
    if not newer:
        return None
    top = max(parse_version(r.version) for r in newer)
    newest = [r for r in newer if parse_version(r.version) == top]
    picked = next((r for r in newest if is_security_suite(r.suite)), newest[0])
    return Update(name=package.name, installed=package.version, available=picked.version,
                  suite=picked.suite, security=any(is_security_suite(r.suite) for r in newer))


def merge_reports(reports: Sequence[OutdatedReport]) -> OutdatedReport:
    """One report of several architectures' (the same update listed once)."""
    updates = {(u.name, u.installed, u.available): u for r in reports for u in r.updates}
    return OutdatedReport(
        release=reports[0].release,
        updates=tuple(updates[key] for key in sorted(updates)),
        unknown=tuple(sorted({name for r in reports for name in r.unknown})),
        suites=tuple(dict.fromkeys(suite for r in reports for suite in r.suites)),
    )
