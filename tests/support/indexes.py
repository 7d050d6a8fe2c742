"""What the real mirror's indexes say today: the newest version of each package per suite,
read with distill's own sources reader and verified index loader (no host name here)."""

from __future__ import annotations

import functools
from typing import Any

from distill.debian.index import compare_versions
from distill.debian.repository import load_packages
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from distill.fsutil import cache_root


def host_sources(release: str) -> list[Source]:
    """The host's apt sources rewritten for ``release`` (its -updates and -security too)."""
    return debian_sources_for(read_host_sources(), release)


@functools.lru_cache(maxsize=4)
def newest_by_suite(release: str, arch: str) -> dict[str, dict[str, str]]:
    """Suite -> package name -> its newest version in that suite's index for ``arch``."""
    newest: dict[str, dict[str, str]] = {}
    records = load_packages(host_sources(release), arch=arch, cache=cache_root() / "debian")
    for record in records:
        suite = newest.setdefault(record.suite, {})
        known = suite.get(record.name)
        if known is None or compare_versions(record.version, known) > 0:
            suite[record.name] = record.version
    return newest


def newest_anywhere(release: str, arch: str, name: str) -> str | None:
    """The newest version of ``name`` in any suite of the release."""
    versions = [v[name] for v in newest_by_suite(release, arch).values() if name in v]
    return max(versions, key=functools.cmp_to_key(compare_versions)) if versions else None


def security_newer(release: str, arch: str, installed: dict[str, str]) -> set[str]:
    """The names of ``installed`` (name -> version) with a newer version in -security."""
    security = newest_by_suite(release, arch).get(f"{release}-security", {})
    return {name for name, version in installed.items()
            if name in security and compare_versions(security[name], version) > 0}


def main_suite_repository(release: str) -> dict[str, Any]:
    """A ``repositories:`` entry for the release's main suite alone (no -updates, no
    -security), from the host's sources."""
    for source in host_sources(release):
        if release in source.suites:
            entry: dict[str, Any] = {"url": source.uri, "suites": [release],
                                     "components": list(source.components)}
            if source.keyring is not None:
                entry["keyring"] = str(source.keyring)
            return entry
    raise AssertionError(f"the host's apt sources serve no {release} suite")


def repositories_with_security(release: str) -> list[dict[str, Any]]:
    """``repositories:`` entries for the release and its -security suite, from the host's."""
    entries = []
    for source in host_sources(release):
        suites = [s for s in source.suites if s in (release, f"{release}-security")]
        if suites:
            entry: dict[str, Any] = {"url": source.uri, "suites": suites,
                                     "components": list(source.components)}
            if source.keyring is not None:
                entry["keyring"] = str(source.keyring)
            entries.append(entry)
    return entries
