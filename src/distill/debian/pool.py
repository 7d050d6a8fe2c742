"""Pinned .debs from the pool: from the mirror, else from a snapshot archive.

Debian keeps only the current version of a package in a suite, so a .deb a
lock pins disappears from the mirror once a point release or security update
replaces it. A snapshot archive keeps every state of the archive: asked for a
time stamp, it answers with its last snapshot at or before it. The lock records
the Date of each suite's InRelease its resolution used; the .deb was in the pool
then and stays there for a while after it is superseded, so the snapshots just
after that Date are asked in turn (:data:`OFFSETS`) and the first that has the
file is used. Whatever serves it, the file is checked against the lock's SHA-256.

The snapshot archive of a source is its ``snapshot:`` URL prefix when the
configuration sets one, else the ``Snapshots:`` field its Release publishes
(apt's own mechanism), else there is none and the error says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from distill.debian.download import (
    DownloadRequest,
    NotFoundError,
    cached_path,
    fetch_all,
    new_client,
)
from distill.debian.lock import LockedPackage
from distill.debian.repository import deb_url, fetch_release
from distill.debian.sources import Source
from distill.errors import FetchError
from distill.progress import SILENT, Progress

SNAPSHOT_ID = "@SNAPSHOTID@"
"""Where a ``Snapshots:`` URL takes the time stamp (apt's placeholder)."""
OFFSETS: tuple[timedelta, ...] = (
    timedelta(0), timedelta(hours=6), timedelta(days=1), timedelta(days=2), timedelta(days=4),
)
"""How long after the suite's Date the snapshots asked for a locked .deb are, in order."""


def snapshot_id(moment: datetime) -> str:
    """The time stamp a snapshot archive takes: ``20260711T101637Z`` (UTC)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def snapshot_urls(template: str, *, date: datetime, filename: str) -> tuple[str, ...]:
    """The URLs of pool file ``filename`` in the snapshots just after ``date``.

    ``template`` is a snapshot archive URL with :data:`SNAPSHOT_ID` in it.
    """
    return tuple(
        f"{template.replace(SNAPSHOT_ID, snapshot_id(date + offset))}/{filename.lstrip('/')}"
        for offset in OFFSETS
    )


def download_debs(
    packages: Sequence[LockedPackage],
    sources: Sequence[Source],
    *,
    cache: Path,
    suite_dates: Mapping[str, datetime] | None = None,
    progress: Progress = SILENT,
) -> dict[str, Path]:
    """Every package verified into ``cache``; SHA-256 -> path.

    When the mirror has lost one (404) and ``suite_dates`` (from the lock) date
    its suite, the packages not yet fetched are asked again with their snapshot
    archive's copies as alternatives (see the module docstring).
    """
    requests = {p.sha256: _request(p, sources) for p in packages}
    try:
        by_url = fetch_all(list(requests.values()), cache=cache, progress=progress)
    except NotFoundError as exc:
        lost = _package_at(exc.url, packages, requests)
        if lost is None or suite_dates is None:
            raise
        retry = _with_snapshots(
            [p for p in packages if not cached_path(cache, p.sha256).is_file()],
            requests, sources, suite_dates=suite_dates, lost=lost, cache=cache,
        )
        requests.update(retry)
        try:
            by_url = fetch_all(list(requests.values()), cache=cache, progress=progress)
        except NotFoundError as again:
            missing = _package_at(again.url, packages, requests)
            if missing is None:
                raise
            if missing.sha256 not in retry:  # its suite has no date or no snapshot archive
                dated = missing.suite in suite_dates
                raise FetchError(_no_snapshot(missing, sources, dated=dated)) from again
            raise FetchError(_gone(missing, sources, also=retry[missing.sha256])) from again
    return {sha: by_url[request.url] for sha, request in requests.items()}


def _request(package: LockedPackage, sources: Sequence[Source]) -> DownloadRequest:
    uri = _source_of(package, sources).uri
    return DownloadRequest(url=deb_url(uri, package.filename), sha256=package.sha256,
                           size=package.size)


def _source_of(package: LockedPackage, sources: Sequence[Source]) -> Source:
    for source in sources:
        if package.suite in source.suites:
            return source
    raise FetchError(
        f"{package.name} {package.version} is pinned to suite {package.suite}, which no"
        " configured source serves"
    )


def _package_at(
    url: str, packages: Sequence[LockedPackage], requests: Mapping[str, DownloadRequest]
) -> LockedPackage | None:
    for package in packages:
        request = requests[package.sha256]
        if url == request.url or url in request.alternatives:
            return package
    return None


def _with_snapshots(
    packages: Sequence[LockedPackage], requests: Mapping[str, DownloadRequest],
    sources: Sequence[Source], *, suite_dates: Mapping[str, datetime], lost: LockedPackage,
    cache: Path,
) -> dict[str, DownloadRequest]:
    """The requests of ``packages`` with their snapshot copies as alternatives.

    FetchError names ``lost`` when its own suite has no date or no snapshot archive.
    """
    templates: dict[str, str | None] = {}
    retry = {}
    with new_client() as client:
        for package in packages:
            date = suite_dates.get(package.suite)
            template = None
            if date is not None:
                if package.suite not in templates:
                    templates[package.suite] = _template(package, sources, client=client,
                                                         cache=cache)
                template = templates[package.suite]
            if date is None or template is None:
                if package is lost:
                    raise FetchError(_no_snapshot(lost, sources, dated=date is not None))
                continue
            urls = snapshot_urls(template, date=date, filename=package.filename)
            retry[package.sha256] = replace(requests[package.sha256], alternatives=urls)
    return retry


def _template(
    package: LockedPackage, sources: Sequence[Source], *, client: httpx.Client, cache: Path
) -> str | None:
    """The snapshot archive of the package's source: ``snapshot:``, else its Release's field."""
    source = _source_of(package, sources)
    if source.snapshot is not None:
        return f"{source.snapshot}/{SNAPSHOT_ID}"
    release = fetch_release(client, source, package.suite, cache=cache)
    return release.snapshots.rstrip("/") if release.snapshots else None


def _gone(package: LockedPackage, sources: Sequence[Source], *, also: DownloadRequest) -> str:
    first, last = also.alternatives[0], also.alternatives[-1]
    return (
        f"{package.name} {package.version} from distill.lock is gone from {package.suite} at"
        f" {_source_of(package, sources).uri} (the archive replaced it) and from its snapshot"
        f" archive ({first} to {last}, HTTP 404); run `distill lock` to pin the current version"
    )


def _no_snapshot(package: LockedPackage, sources: Sequence[Source], *, dated: bool) -> str:
    where = f"{package.suite} at {_source_of(package, sources).uri}"
    head = (f"{package.name} {package.version} from distill.lock is gone from {where}"
            " (the archive replaced it)")
    if not dated:
        return (f"{head}, and distill.lock records no date of {package.suite} to find it in a"
                " snapshot archive; run `distill lock` to pin the current version")
    return (f"{head}; set snapshot: (a snapshot archive's URL prefix) on that repository in"
            " distill.yaml to fetch it from there, or run `distill lock` to pin the current"
            " version")
