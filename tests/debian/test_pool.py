"""Locked .debs the mirror lost, fetched from a local snapshot archive (no network)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from distill.debian.download import NotFoundError, cached_path
from distill.debian.lock import LockedPackage
from distill.debian.pool import download_debs, snapshot_id, snapshot_urls
from distill.debian.sources import Source
from distill.errors import FetchError, IntegrityError
from support.snapshot_archive import SnapshotArchive, running_snapshot_archive

DATE = datetime(2026, 7, 11, 10, 16, 37, tzinfo=UTC)
DATA = b"!<arch>\n a .deb stand-in whose SHA-256 the lock pins\n"
FILENAME = "pool/main/t/tool/tool_1.0-1_amd64.deb"
PACKAGE = LockedPackage(name="tool", version="1.0-1", architecture="amd64",
                        sha256=hashlib.sha256(DATA).hexdigest(), size=len(DATA),
                        filename=FILENAME, suite="sid", component="main")
CacheFiles = Callable[[Path], list[Path]]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[SnapshotArchive]:
    with running_snapshot_archive(tmp_path / "snapshots") as running:
        yield running


def _publish(mirror: Any, signer: Any, *, snapshots: str | None = None) -> None:
    """A signed InRelease for suite sid on ``mirror`` (with a Snapshots field if given)."""
    text = ("Suite: unstable\nCodename: sid\nArchitectures: amd64\nComponents: main\n"
            "Date: Sat, 11 Jul 2026 10:16:37 UTC\n"
            + (f"Snapshots: {snapshots}\n" if snapshots else "") + "SHA256:\n")
    target = mirror.root / "debian" / "dists" / "sid" / "InRelease"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(signer.clearsign(text))


def _source(mirror: Any, signer: Any, snapshot: str | None) -> Source:
    return Source(uri=mirror.uri, suites=("sid",), components=("main",), keyring=signer.keyring,
                  snapshot=snapshot)


def _paths(archive: SnapshotArchive, *offsets: timedelta) -> list[str]:
    return [f"/archive/{snapshot_id(DATE + offset)}/{FILENAME}" for offset in offsets]


def test_snapshot_urls_are_the_suite_date_plus_a_few_offsets() -> None:
    urls = snapshot_urls("http://s.invalid/archive/debian/@SNAPSHOTID@", date=DATE,
                         filename="/" + FILENAME)

    assert urls == tuple(f"http://s.invalid/archive/debian/{stamp}/{FILENAME}" for stamp in (
        "20260711T101637Z", "20260711T161637Z", "20260712T101637Z", "20260713T101637Z",
        "20260715T101637Z"))


def test_a_deb_the_mirror_still_has_does_not_touch_the_snapshot_archive(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path
) -> None:
    (file_server.root / "debian" / FILENAME).parent.mkdir(parents=True)
    (file_server.root / "debian" / FILENAME).write_bytes(DATA)
    source = _source(file_server, signer, archive.prefix)

    paths = download_debs([PACKAGE], [source], cache=tmp_path / "c", suite_dates={"sid": DATE})

    assert paths[PACKAGE.sha256].read_bytes() == DATA
    assert archive.log == []


def test_a_lost_deb_comes_verified_from_the_first_snapshot_after_the_suite_date(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path
) -> None:
    archive.add(snapshot_id(DATE - timedelta(days=1)), "pool/main/o/other/other.deb", b"x")
    archive.add(snapshot_id(DATE + timedelta(hours=3)), FILENAME, DATA)
    source = _source(file_server, signer, archive.prefix)
    cache = tmp_path / "c"

    paths = download_debs([PACKAGE], [source], cache=cache, suite_dates={"sid": DATE})

    assert paths[PACKAGE.sha256] == cached_path(cache, PACKAGE.sha256)
    assert paths[PACKAGE.sha256].read_bytes() == DATA
    assert f"/debian/{FILENAME}" in file_server.log
    assert archive.log == _paths(archive, timedelta(0), timedelta(hours=6))


def test_wrong_bytes_from_the_snapshot_archive_are_refused_and_not_cached(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    archive.add(snapshot_id(DATE), FILENAME, DATA.replace(b"stand-in", b"STAND-IN"))
    source = _source(file_server, signer, archive.prefix)
    cache = tmp_path / "c"

    with pytest.raises(IntegrityError, match=f"^{archive.prefix}/{snapshot_id(DATE)}/"
                                             f"{FILENAME}: SHA-256 mismatch"):
        download_debs([PACKAGE], [source], cache=cache, suite_dates={"sid": DATE})
    assert cache_files(cache) == []


def test_a_deb_no_snapshot_has_is_one_line_naming_the_package(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path
) -> None:
    source = _source(file_server, signer, archive.prefix)

    with pytest.raises(FetchError) as caught:
        download_debs([PACKAGE], [source], cache=tmp_path / "c", suite_dates={"sid": DATE})

    first, *_, last = snapshot_urls(f"{archive.prefix}/@SNAPSHOTID@", date=DATE,
                                    filename=FILENAME)
    assert str(caught.value) == (
        f"tool 1.0-1 from distill.lock is gone from sid at {file_server.uri} (the archive"
        f" replaced it) and from its snapshot archive ({first} to {last}, HTTP 404);"
        " run `distill lock` to pin the current version"
    )
    assert len(archive.log) == 5


def test_without_any_snapshot_archive_the_error_suggests_setting_one(
    file_server: Any, signer: Any, tmp_path: Path
) -> None:
    _publish(file_server, signer)
    source = _source(file_server, signer, None)

    with pytest.raises(FetchError) as caught:
        download_debs([PACKAGE], [source], cache=tmp_path / "c", suite_dates={"sid": DATE})

    assert str(caught.value) == (
        f"tool 1.0-1 from distill.lock is gone from sid at {file_server.uri} (the archive"
        " replaced it); set snapshot: (a snapshot archive's URL prefix) on that repository in"
        " distill.yaml to fetch it from there, or run `distill lock` to pin the current version"
    )


def test_the_releases_snapshots_field_is_the_default_snapshot_archive(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path
) -> None:
    _publish(file_server, signer, snapshots=f"{archive.prefix}/@SNAPSHOTID@")
    archive.add(snapshot_id(DATE), FILENAME, DATA)
    source = _source(file_server, signer, None)

    paths = download_debs([PACKAGE], [source], cache=tmp_path / "c", suite_dates={"sid": DATE})

    assert paths[PACKAGE.sha256].read_bytes() == DATA
    assert archive.log == _paths(archive, timedelta(0))


def test_an_old_lock_without_suite_dates_says_it_cannot_ask_a_snapshot(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path
) -> None:
    source = _source(file_server, signer, archive.prefix)

    with pytest.raises(FetchError, match=r"^tool 1\.0-1 from distill\.lock is gone from sid at "
                                         r".*, and distill\.lock records no date of sid to find"
                                         r" it in a snapshot archive; run `distill lock`"):
        download_debs([PACKAGE], [source], cache=tmp_path / "c", suite_dates={})
    assert archive.log == []


def test_without_a_lock_a_404_stays_a_plain_not_found(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path
) -> None:
    source = _source(file_server, signer, archive.prefix)

    with pytest.raises(NotFoundError, match=f"^not found at {file_server.uri}/{FILENAME}"):
        download_debs([PACKAGE], [source], cache=tmp_path / "c")
    assert archive.log == []


def test_a_second_lost_deb_whose_suite_has_no_date_is_named(
    file_server: Any, signer: Any, archive: SnapshotArchive, tmp_path: Path
) -> None:
    archive.add(snapshot_id(DATE), FILENAME, DATA)
    other = LockedPackage(name="extra", version="2", architecture="all", sha256="e" * 64,
                          size=1, filename="pool/main/e/extra/extra_2_all.deb",
                          suite="sid-extra", component="main")
    sources = [_source(file_server, signer, archive.prefix),
               Source(uri=file_server.uri, suites=("sid-extra",), components=("main",),
                      keyring=signer.keyring, snapshot=archive.prefix)]
    cache = tmp_path / "c"

    with pytest.raises(FetchError, match=r"^extra 2 from distill\.lock is gone from sid-extra "
                                         r".*records no date of sid-extra"):
        download_debs([PACKAGE, other], sources, cache=cache, suite_dates={"sid": DATE})
    assert cached_path(cache, PACKAGE.sha256).read_bytes() == DATA
