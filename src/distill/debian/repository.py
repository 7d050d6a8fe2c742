"""Load the package records of Debian sources: signed InRelease -> verified Packages -> records.

Each call fetches every suite's InRelease afresh (it is small and says what is
current), checks its signature, and takes the Packages index it names by
SHA-256. Parsed indexes are cached under that hash, so a warm call costs the
InRelease fetches plus reading the parsed cache.
"""

from __future__ import annotations

import gc
import marshal
import sys
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from distill.debian.download import client_or_new, fetch_bytes, fetch_verified
from distill.debian.packages import package_versions, parse_packages, read_index
from distill.debian.records import PackageRecord
from distill.debian.release import FileEntry, Release, parse_release, verify_inrelease
from distill.debian.sources import Source, known_suites
from distill.errors import ConfigError, IntegrityError
from distill.fsutil import atomic_write_bytes
from distill.progress import SILENT, Progress

_INDEX_NAMES = ("Packages.xz", "Packages.gz", "Packages")
_PARSED_FORMAT = f"v3.marshal{marshal.version}.py{sys.version_info[0]}{sys.version_info[1]}"
# Fields stored per record in the parsed cache; suite, component and uri are set on load.
_STORED = (
    "name", "version", "architecture", "filename", "size", "sha256", "depends",
    "pre_depends", "provides", "conflicts", "breaks", "multi_arch", "essential", "priority",
    "source",
)


@dataclass(frozen=True)
class IndexRef:
    """One Packages index a Release vouches for."""

    suite: str
    component: str
    uri: str
    path: str
    """Path below ``dists/<suite>/`` (``main/binary-amd64/Packages.xz``)."""
    urls: tuple[str, ...]
    """Where to fetch it, in order: by hash when offered, then the canonical name."""
    entry: FileEntry


def load_packages(
    sources: Sequence[Source],
    *,
    arch: str,
    cache: Path,
    progress: Progress = SILENT,
    client: httpx.Client | None = None,
    names: Collection[str] | None = None,
) -> list[PackageRecord]:
    """Every package record for ``arch`` (and ``all``) from every suite of ``sources``
    (only those of packages called ``names`` when given)."""
    with client_or_new(client) as http:
        indexes = current_indexes(sources, arch=arch, cache=cache, client=http)
        return load_records(indexes, cache=cache, progress=progress, client=http, names=names)


def fetch_releases(
    sources: Sequence[Source], *, cache: Path, client: httpx.Client | None = None
) -> list[tuple[Source, str, Release]]:
    """Every suite's InRelease, fetched afresh and verified, as (source, suite, release)."""
    pairs = [(source, suite) for source in sources for suite in source.suites]
    with client_or_new(client) as http, ThreadPoolExecutor(max(1, len(pairs))) as pool:
        # The fetches and gpgv runs wait on the network and a subprocess: overlap them.
        releases = list(pool.map(
            lambda pair: fetch_release(http, pair[0], pair[1], cache=cache), pairs))
    return [(source, suite, release)
            for (source, suite), release in zip(pairs, releases, strict=True)]


def current_indexes(
    sources: Sequence[Source], *, arch: str, cache: Path, client: httpx.Client | None = None
) -> list[IndexRef]:
    """The Packages indexes the sources' freshly verified InRelease files name for ``arch``.

    Their SHA-256s identify the repository state, so callers can key caches
    of anything derived from the records on them.
    """
    return release_indexes(fetch_releases(sources, cache=cache, client=client), arch=arch)


def release_indexes(
    releases: Sequence[tuple[Source, str, Release]], *, arch: str
) -> list[IndexRef]:
    """The Packages indexes for ``arch`` named by releases from :func:`fetch_releases`."""
    return [
        index
        for source, suite, release in releases
        for index in _indexes(release, source=source, suite=suite, arch=arch)
    ]


def load_records(
    indexes: Sequence[IndexRef],
    *,
    cache: Path,
    progress: Progress = SILENT,
    client: httpx.Client | None = None,
    names: Collection[str] | None = None,
) -> list[PackageRecord]:
    """The records of ``indexes``, from the parsed cache or downloaded and verified;
    only those of packages called ``names`` when given (a few names cost a fraction of
    the whole, since only their records are made)."""
    with client_or_new(client) as http:
        records: list[PackageRecord] = []
        for index in indexes:
            records += _load_index(http, index, cache=cache, progress=progress, names=names)
        return records


def find_versions(
    sources: Sequence[Source],
    *,
    name: str,
    arch: str,
    cache: Path,
    client: httpx.Client | None = None,
) -> list[str]:
    """The versions of package ``name`` in the sources' Packages indexes for ``arch``.

    Read from the parsed cache when an index is there, else by scanning the
    verified index for that package only (nothing is parsed or cached beyond
    the download itself).
    """
    versions: list[str] = []
    with client_or_new(client) as http:
        for index in current_indexes(sources, arch=arch, cache=cache, client=http):
            parsed = _read_parsed(_parsed_path(index, cache=cache), index=index)
            if parsed is not None:
                versions += [r.version for r in parsed if r.name == name]
                continue
            text = read_index(_fetch_index(http, index, cache=cache, progress=SILENT),
                              name=index.path)
            versions += package_versions(text, name=name)
    return versions


def fetch_release(client: httpx.Client, source: Source, suite: str, *, cache: Path) -> Release:
    """Fetch, verify and parse ``dists/<suite>/InRelease`` of ``source``."""
    url = f"{source.uri}/dists/{suite}/InRelease"
    label = f"InRelease of {suite} at {source.uri}"
    signed = verify_inrelease(fetch_bytes(client, url), source.keyring_path, label=label)
    try:
        text = signed.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntegrityError(f"{label}: signed text is not UTF-8") from exc
    release = parse_release(text, label=label)
    if suite.split("/")[0] not in (release.suite, release.codename):
        raise IntegrityError(
            f"{label}: the signed file is for suite {release.suite} ({release.codename}),"
            f" not {suite}"
        )
    atomic_write_bytes(cache / "inrelease" / quote(url, safe=""), signed)
    return release


def _indexes(release: Release, *, source: Source, suite: str, arch: str) -> list[IndexRef]:
    """The Packages indexes to read for ``arch``, one per component (plus binary-all if needed)."""
    if arch not in release.architectures:
        raise ConfigError(
            f"architecture {arch} is not served by {suite} at {source.uri};"
            f" it serves: {', '.join(a for a in release.architectures if a != 'all')}"
        )
    archs = [arch]
    if not release.all_in_arch_packages and "all" in release.architectures:
        archs.append("all")
    indexes = []
    for component in source.components:
        for index_arch in archs:
            index = _pick_index(release, source=source, suite=suite,
                                component=component, arch=index_arch)
            if index is not None:
                indexes.append(index)
            elif index_arch == arch:
                raise ConfigError(
                    f"component {component} for {arch} is not served by {suite} at {source.uri};"
                    f" it serves: {', '.join(release.components)}"
                )
    return indexes


def _pick_index(
    release: Release, *, source: Source, suite: str, component: str, arch: str
) -> IndexRef | None:
    folder = f"{component}/binary-{arch}"
    for name in _INDEX_NAMES:
        path = f"{folder}/{name}"
        entry = release.files.get(path)
        if entry is None:
            continue
        urls = release_file_urls(release, uri=source.uri, suite=suite, path=path)
        return IndexRef(suite=suite, component=component, uri=source.uri, path=path,
                        urls=urls, entry=entry)
    return None


def release_file_urls(release: Release, *, uri: str, suite: str, path: str) -> tuple[str, ...]:
    """The URLs of ``path`` (below ``dists/<suite>/``, listed in ``release``), in apt's order.

    By hash first when the Release offers it, then the canonical name: some
    mirrors list by-hash in their Release but answer 404 for it.
    """
    base = f"{uri}/dists/{suite}"
    canonical = f"{base}/{path}"
    if not release.acquire_by_hash:
        return (canonical,)
    folder = path.rpartition("/")[0]
    return (f"{base}/{folder}/by-hash/SHA256/{release.files[path].sha256}", canonical)


def fetch_release_file(
    client: httpx.Client, release: Release, *, uri: str, suite: str, path: str, cache: Path,
    progress: Progress = SILENT,
) -> Path:
    """The file ``path`` that ``release`` lists, verified against its SHA-256 into ``cache``.

    A copy that still does not match after a second try (the mirror is being
    synced) is refused with IntegrityError; nothing of it is kept.
    """
    entry = release.files[path]
    urls = release_file_urls(release, uri=uri, suite=suite, path=path)
    try:
        return fetch_verified(client, urls, sha256=entry.sha256, size=entry.size, cache=cache,
                              progress=progress)
    except IntegrityError as exc:
        raise IntegrityError(_mismatch(path, suite=suite, uri=uri)) from exc


def _load_index(
    client: httpx.Client, index: IndexRef, *, cache: Path, progress: Progress,
    names: Collection[str] | None = None,
) -> list[PackageRecord]:
    parsed = _parsed_path(index, cache=cache)
    if names is not None:
        found = _read_by_name(parsed, index=index, names=names)
        if found is not None:
            return found
    if parsed.is_file():
        records = _read_parsed(parsed, index=index, names=names)
        if records is not None:
            return records
    compressed = _fetch_index(client, index, cache=cache, progress=progress)
    task = progress.task(f"Reading {index.suite}/{index.path}")
    try:
        text = read_index(compressed, name=index.path)
        records = parse_packages(text, suite=index.suite, component=index.component,
                                 uri=index.uri)
        rows = [{name: getattr(record, name) for name in _STORED} for record in records]
        atomic_write_bytes(parsed, marshal.dumps(rows))
        _write_by_name(parsed, rows)
    finally:
        task.finish()
    if names is not None:
        return [record for record in records if record.name in names]
    return records


def _parsed_path(index: IndexRef, *, cache: Path) -> Path:
    return cache / "parsed" / f"{index.entry.sha256}.{_PARSED_FORMAT}"


def _fetch_index(
    client: httpx.Client, index: IndexRef, *, cache: Path, progress: Progress
) -> Path:
    try:
        return fetch_verified(client, index.urls, sha256=index.entry.sha256,
                              size=index.entry.size, cache=cache, progress=progress)
    except IntegrityError as exc:
        raise IntegrityError(_mismatch(index.path, suite=index.suite, uri=index.uri)) from exc


def _mismatch(path: str, *, suite: str, uri: str) -> str:
    return (f"{path} of {suite} at {uri} does not match its signed Release (the mirror is"
            " being updated; nothing was used): try again later")


def _read_parsed(
    path: Path, *, index: IndexRef, names: Collection[str] | None = None
) -> list[PackageRecord] | None:
    """The records of a parsed index, or None when the file is unreadable (it is rebuilt)."""
    # The cyclic garbage collector would otherwise run hundreds of times while
    # some 60,000 small objects are made, and it holds nothing to collect here.
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            rows = marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if not isinstance(rows, list) or (rows and set(rows[0]) != set(_STORED)):
            return None
        if names is not None:
            rows = [row for row in rows if row["name"] in names]
        return _records(rows, index=index)
    finally:
        if collecting:
            gc.enable()


def _by_name_path(parsed: Path) -> Path:
    return parsed.with_name(parsed.name + ".by-name-v1")


def _write_by_name(parsed: Path, rows: list[dict[str, object]]) -> None:
    """Beside the parsed index, each package name's rows marshalled on their own, so that
    reading a few names (``distill outdated``) does not build 60,000 records."""
    grouped: dict[str, list[tuple[int, dict[str, object]]]] = {}
    for position, row in enumerate(rows):
        grouped.setdefault(str(row["name"]), []).append((position, row))
    atomic_write_bytes(_by_name_path(parsed),
                       marshal.dumps({name: marshal.dumps(group)
                                      for name, group in grouped.items()}))


def _read_by_name(
    parsed: Path, *, index: IndexRef, names: Collection[str]
) -> list[PackageRecord] | None:
    """The records of ``names`` from the by-name file, or None when there is none (or it
    is unreadable): the full parsed index is read instead (and the file written)."""
    try:
        groups = marshal.loads(_by_name_path(parsed).read_bytes())
        placed = [pair for name in names if name in groups
                  for pair in marshal.loads(groups[name])]
        rows = [row for _, row in sorted(placed, key=lambda pair: pair[0])]  # index order
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError):
        if parsed.is_file():
            full = _read_rows(parsed)
            if full is not None:
                _write_by_name(parsed, full)
        return None
    if rows and set(rows[0]) != set(_STORED):
        return None
    return _records(rows, index=index)


def _read_rows(path: Path) -> list[dict[str, object]] | None:
    try:
        rows = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return rows if isinstance(rows, list) else None


def _records(rows: list[dict[str, object]], *, index: IndexRef) -> list[PackageRecord]:
    # Setting __dict__ directly is about three times faster than the frozen
    # dataclass __init__ for the 60,000 records of Debian main; the values were
    # taken from PackageRecord objects when the cache was written.
    extra = {"suite": index.suite, "component": index.component, "uri": index.uri}
    new = object.__new__
    set_attribute = object.__setattr__
    records = []
    for fields in rows:
        fields.update(extra)
        record: PackageRecord = new(PackageRecord)
        set_attribute(record, "__dict__", fields)
        records.append(record)
    return records


def deb_url(record: PackageRecord | str, filename: str | None = None) -> str:
    """The download URL of a .deb: from a record, or from a source URI and a pool filename."""
    if isinstance(record, PackageRecord):
        return f"{record.uri}/{record.filename}"
    if filename is None:
        raise TypeError("deb_url(uri, filename) needs the filename")
    return f"{record.rstrip('/')}/{filename.lstrip('/')}"


def source_uri_for_suite(sources: Sequence[Source], suite: str) -> str:
    """The URI of the first source that serves ``suite``."""
    for source in sources:
        if suite in source.suites:
            return source.uri
    raise ConfigError(
        f"no configured source serves suite {suite};"
        f" the sources serve: {', '.join(known_suites(sources)) or 'nothing'}"
    )
