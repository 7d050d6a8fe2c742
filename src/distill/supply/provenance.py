"""SLSA v1 provenance of a build: the builder, its inputs and every resolved dependency.

:class:`BuildFacts` is what a build knows (gathered by :func:`build_facts`);
:func:`provenance_predicate` turns one architecture's share of it into the
``https://slsa.dev/provenance/v1`` predicate. Nothing in it depends on the
clock or the machine, so two builds from the same lock give the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from distill import __version__
from distill.assembly.pipeline import BuildResult
from distill.assembly.resolution import sources_for
from distill.config import Config
from distill.debian.lock import LockedPackage
from distill.fsutil import cache_root
from distill.packagers import Resolved
from distill.sbom import purls

BUILD_TYPE = "urn:distill:build:v1"
BUILDER_ID = "urn:distill:builder"


@dataclass(frozen=True)
class Input:
    """A file the build read, by name and SHA-256 (hex)."""

    name: str
    sha256: str


@dataclass(frozen=True)
class Release:
    """A suite's InRelease the .debs were verified against."""

    suite: str
    url: str
    sha256: str


@dataclass(frozen=True)
class BuildFacts:
    """What the provenance states about one build."""

    name: str
    epoch: int
    config: Input | None = None
    lock: Input | None = None
    base: str | None = None
    """The remote base image reference, when the build has one."""
    bases: Mapping[str, str] = field(default_factory=dict)
    """Architecture -> the remote base image's manifest digest."""
    packages: Mapping[str, Sequence[LockedPackage]] = field(default_factory=dict)
    """Architecture -> its .debs."""
    releases: Sequence[Release] = ()
    resolved: Mapping[str, Sequence[Resolved]] = field(default_factory=dict)
    """Architecture -> the wheels, npm tarballs and jars the packagers put in."""


def provenance_predicate(facts: BuildFacts, *, architecture: str) -> dict[str, Any]:
    """The SLSA v1 predicate for the image of ``architecture``."""
    external: dict[str, Any] = {"name": facts.name, "architecture": architecture}
    if facts.config is not None:
        external["config"] = {"path": facts.config.name,
                              "digest": {"sha256": facts.config.sha256}}
    if facts.base is not None:
        external["base"] = facts.base
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": {"SOURCE_DATE_EPOCH": facts.epoch},
            "resolvedDependencies": _dependencies(facts, architecture),
        },
        "runDetails": {
            "builder": {"id": BUILDER_ID, "version": {"distill": __version__}},
            "metadata": {"invocationId": f"distill-{facts.name}-{architecture}"},
        },
    }


def build_facts(
    result: BuildResult, *, config: Config, epoch: int, config_file: Path | None = None,
    lock_path: Path | None = None,
) -> BuildFacts:
    """The facts of ``result``: file digests read now, InRelease digests from the cache."""
    suites = {p.suite for packages in result.packages.values() for p in packages}
    return BuildFacts(
        name=result.name, epoch=epoch,
        config=_input(config_file), lock=_input(lock_path),
        base=str(config.remote_base) if config.remote_base is not None else None,
        packages=dict(result.packages), bases=dict(result.bases),
        releases=_releases(config, suites), resolved=dict(result.resolved),
    )


def _dependencies(facts: BuildFacts, architecture: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if facts.lock is not None:
        found.append({"name": facts.lock.name, "digest": {"sha256": facts.lock.sha256}})
    if facts.base is not None and architecture in facts.bases:
        algorithm, _, value = facts.bases[architecture].partition(":")
        found.append({"name": "base image", "uri": facts.base, "digest": {algorithm: value}})
    for release in facts.releases:
        found.append({"name": f"{release.suite}/InRelease", "uri": release.url,
                      "digest": {"sha256": release.sha256}})
    for package in sorted(facts.packages.get(architecture, ()), key=lambda p: p.name):
        found.append({
            "name": package.filename.rsplit("/", 1)[-1],
            "uri": f"pkg:deb/debian/{package.name}@{quote(package.version)}"
                   f"?arch={package.architecture}",
            "digest": {"sha256": package.sha256},
            "annotations": {"suite": package.suite, "component": package.component,
                            "filename": package.filename, "version": package.version},
        })
    found += [_artifact(item) for item in sorted(
        facts.resolved.get(architecture, ()),
        key=lambda r: (r.ecosystem, r.name, r.version, r.file))]
    return found


def _artifact(item: Resolved) -> dict[str, Any]:
    """A wheel, npm tarball or jar: its purl (or file name) and digests, and where it came
    from when known (``downloadLocation``, a ResourceDescriptor field)."""
    found: dict[str, Any] = {"name": item.file}
    if item.digest:
        found["digest"] = dict(sorted(item.digest.items()))
    if item.ecosystem == "pypi":
        found["uri"] = purls.pypi(name=item.name, version=item.version)
    elif item.ecosystem == "npm":
        found["uri"] = purls.npm(name=item.name, version=item.version)
    if item.url is not None:
        found["downloadLocation"] = item.url
    return found


def _input(path: Path | None) -> Input | None:
    if path is None or not path.is_file():
        return None
    return Input(name=path.name, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def _releases(config: Config, suites: set[str]) -> list[Release]:
    if not suites:
        return []
    found = []
    for source in sources_for(config):
        for suite in source.suites:
            url = f"{source.uri}/dists/{suite}/InRelease"
            cached = cache_root() / "debian" / "inrelease" / quote(url, safe="")
            if suite in suites and cached.is_file():
                found.append(Release(suite=suite, url=url,
                                     sha256=hashlib.sha256(cached.read_bytes()).hexdigest()))
    return found
