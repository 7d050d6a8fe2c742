"""Which packages an image gets: sources, resolution (cached), the lock file, downloads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from distill import packagers
from distill.assembly.plan import PackagePlan, plan_from_index, plan_from_lock
from distill.assembly.remote_base import (
    ReadImage,
    need_reader,
    read_remote_base,
    write_base_pin,
)
from distill.config import ARCHS, Config
from distill.debian.download import new_client
from distill.debian.lock import Lock, read_lock, write_lock
from distill.debian.pool import download_debs
from distill.debian.repository import fetch_releases, load_records, release_indexes
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from distill.errors import ConfigError, DistillError
from distill.flavors import Flavor, image_chain
from distill.fsutil import cache_root
from distill.layers.fingerprint import cache_key
from distill.packagers import NativeNeed, PrepareContext
from distill.progress import SILENT, Progress


def sources_for(config: Config) -> list[Source]:
    """The Debian sources of the configuration's release: its own, else the host's."""
    if config.repositories:
        return [
            Source(uri=r.url.rstrip("/"), suites=tuple(r.suites),
                   components=tuple(r.components), keyring=r.keyring, snapshot=r.snapshot)
            for r in config.repositories
        ]
    return debian_sources_for(read_host_sources(), config.release)


def flavor_layers(config: Config) -> tuple[Flavor, ...]:
    """The flavor layers: none on a remote base."""
    if config.remote_base is not None:
        return ()
    return image_chain(config.base, config.variant)


def prepare_config(
    config: Config, archs: Sequence[str], sources: Sequence[Source], progress: Progress,
    notes: list[NativeNeed] | None = None,
) -> Config:
    """The configuration with what its app and health check imply filled in; the packages
    steps added for an app's native files are appended to ``notes``."""
    context = PrepareContext(archs=tuple(archs), sources=tuple(sources), cache=cache_root(),
                             progress=progress, notes=[] if notes is None else notes)
    return packagers.prepare(config, context=context)


def chosen_archs(config: Config, archs: Sequence[str] | None) -> list[str]:
    """The architectures to build: the command line's, else the configuration's."""
    chosen = list(archs) if archs else list(config.archs)
    for arch in chosen:
        if arch not in ARCHS:
            raise ConfigError(f"unknown architecture {arch!r} (supported: {', '.join(ARCHS)})")
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class Resolution:
    """The plans of a resolution and the Date of each suite's InRelease it used."""

    plans: tuple[PackagePlan, ...]
    suite_dates: Mapping[str, datetime] = field(default_factory=dict)


def resolve_plans(
    config: Config, archs: Sequence[str], *, sources: Sequence[Source], progress: Progress
) -> list[PackagePlan]:
    """Resolve the configuration's packages for each architecture (see :func:`resolve`)."""
    return list(resolve(config, archs, sources=sources, progress=progress).plans)


def resolve(
    config: Config, archs: Sequence[str], *, sources: Sequence[Source], progress: Progress
) -> Resolution:
    """Resolve the configuration's packages for each architecture from the repositories.

    The InRelease files are always fetched and verified afresh; a resolution
    is reused when the Packages indexes they name and the requested packages
    are the ones it was made from.
    """
    chain = flavor_layers(config)
    if not config.packages and not any(_installs(flavor, config.release) for flavor in chain):
        # scratch, or a remote base, and nothing to add: the mirror is not asked at all
        return Resolution(plans=tuple(PackagePlan(arch, ()) for arch in archs))
    cache = cache_root() / "debian"
    plans = []
    with new_client() as http:
        releases = fetch_releases(sources, cache=cache, client=http)
        for arch in archs:
            indexes = release_indexes(releases, arch=arch)
            key = cache_key(kind="plan", arch=arch, packages=config.package_checksum(),
                            indexes=sorted(index.entry.sha256 for index in indexes))
            plan = _cached_plan(key, arch=arch, chain=chain)
            if plan is None:
                records = load_records(indexes, cache=cache, progress=progress, client=http)
                plan = plan_from_index(records, arch=arch, release=config.release,
                                       chain=chain, extra=config.packages)
                _store_plan(key, plan, release=config.release)
            plans.append(plan)
    dates = {suite: release.date for _, suite, release in releases if release.date is not None}
    return Resolution(plans=tuple(plans), suite_dates=dates)


def _installs(flavor: Flavor, release: str) -> bool:
    return bool(flavor.packages.get(release) or flavor.data_packages)


def _plan_path(key: str) -> Path:
    return cache_root() / "plans" / f"{key}.json"


def _cached_plan(key: str, *, arch: str, chain: Sequence[Flavor]) -> PackagePlan | None:
    path = _plan_path(key)
    if not path.is_file():
        return None
    try:
        return plan_from_lock(read_lock(path), arch=arch, layers=[f.name for f in chain])
    except DistillError:
        return None  # a damaged entry is resolved again and rewritten


def _store_plan(key: str, plan: PackagePlan, *, release: str) -> None:
    write_lock(_plan_path(key), Lock(config_checksum=f"sha256:{key}", release=release,
                                     packages={plan.arch: plan.all_packages()}))


def locked_plans(config: Config, archs: Sequence[str], locked: Lock) -> list[PackagePlan]:
    """The plans distill.lock pins, after checking it still matches the configuration."""
    locked.check(config_checksum=config.package_checksum(), archs=archs, release=config.release)
    layers = [f.name for f in flavor_layers(config)]
    return [plan_from_lock(locked, arch=arch, layers=layers) for arch in archs]


def download_packages(
    plans: Sequence[PackagePlan], sources: Sequence[Source], *, progress: Progress,
    suite_dates: Mapping[str, datetime] | None = None,
) -> dict[str, Path]:
    """Every planned .deb, verified into the cache; sha256 -> path.

    ``suite_dates`` (a lock's) let a .deb the mirror lost come from a snapshot archive.
    """
    packages = {p.sha256: p for plan in plans for p in plan.all_packages()}
    return download_debs(list(packages.values()), sources, cache=cache_root() / "debian",
                         suite_dates=suite_dates, progress=progress)


def lock(config: Config, *, lock_path: Path, progress: Progress = SILENT,
         read_image: ReadImage | None = None) -> Lock:
    """Resolve every architecture and write the lock file; a remote base is read with
    ``read_image`` and pinned too."""
    archs = chosen_archs(config, None)
    sources = sources_for(config)
    config = prepare_config(config, archs, sources, progress)
    resolution = resolve(config, archs, sources=sources, progress=progress)
    result = Lock(
        config_checksum=config.package_checksum(),
        release=config.release,
        packages={plan.arch: plan.all_packages() for plan in resolution.plans},
        suite_dates=resolution.suite_dates,
    )
    write_lock(lock_path, result)
    if config.remote_base is not None:
        read = need_reader(read_image, config.remote_base)
        write_base_pin(lock_path, read_remote_base(config.remote_base, archs, read=read))
    return result

