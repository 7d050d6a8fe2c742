"""``distill build --locked`` once the archive replaced a locked .deb.

The mirror is the host's, reached through a proxy that has "lost" one locked
.deb (404); a local snapshot archive holds the real file in a snapshot taken
a few hours after the suite's InRelease Date that the lock records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from distill.cli.main import main
from distill.debian.download import cached_path
from distill.debian.lock import read_lock
from distill.debian.pool import snapshot_id
from distill.debian.repository import deb_url
from distill.debian.sources import Source, debian_sources_for, read_host_sources
from support.mirror_proxy import MirrorProxy, running_proxy
from support.snapshot_archive import SnapshotArchive, running_snapshot_archive

LOST = "netbase"


@pytest.fixture
def proxy(host_mirror: str) -> Iterator[MirrorProxy]:
    with running_proxy(host_mirror) as running:
        yield running


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[SnapshotArchive]:
    with running_snapshot_archive(tmp_path / "snapshots") as running:
        yield running


def _host_sources() -> list[Source]:
    return debian_sources_for(read_host_sources(), "bookworm")


def _write_config(project: Path, proxy: MirrorProxy, *, snapshot: str | None) -> Path:
    repositories = []
    for source in _host_sources():
        entry: dict[str, object] = {"url": proxy.uri(source.uri), "suites": list(source.suites),
                                    "components": list(source.components)}
        if snapshot is not None:
            entry["snapshot"] = snapshot
        repositories.append(entry)
    document = {"name": "snap", "version": "1.0", "release": "bookworm", "archs": ["amd64"],
                "base": "static", "repositories": repositories}
    config = project / "distill.yaml"
    config.write_text(yaml.safe_dump(document), encoding="utf-8")
    return config


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.mirror
def test_a_locked_build_fetches_a_deb_the_mirror_lost_from_the_snapshot_archive(
    proxy: MirrorProxy, archive: SnapshotArchive, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    config = _write_config(project, proxy, snapshot=None)
    code, err = _run(capsys, "-q", "lock", "-f", str(config))
    assert code == 0, err
    lock = read_lock(project / "distill.lock")
    written = json.loads((project / "distill.lock").read_text())
    assert set(written["suites"]) == {s for source in _host_sources() for s in source.suites}
    [lost] = [p for p in lock.packages["amd64"] if p.name == LOST]
    date = lock.suite_dates[lost.suite]
    [direct] = [s for s in _host_sources() if lost.suite in s.suites]
    real = httpx.get(deb_url(direct.uri, lost.filename), follow_redirects=True)
    archive.add(snapshot_id(date - timedelta(days=2)), "pool/main/o/other/other.deb", b"x")
    archive.add(snapshot_id(date + timedelta(hours=3)), lost.filename, real.content)
    lost_path = proxy.path_of(deb_url(proxy.uri(direct.uri), lost.filename))
    proxy.fail[lost_path] = 404
    cache = tmp_path / "fresh-cache"
    monkeypatch.setenv("DISTILL_CACHE", str(cache))

    code, err = _run(capsys, "-q", "build", "--locked", "-f", str(config),
                     "-o", f"oci:{tmp_path / 'without'}")
    assert code == 1
    assert err == (
        f"error: {LOST} {lost.version} from distill.lock is gone from {lost.suite} at"
        f" {proxy.uri(direct.uri)} (the archive replaced it); set snapshot: (a snapshot"
        " archive's URL prefix) on that repository in distill.yaml to fetch it from there,"
        " or run `distill lock` to pin the current version\n"
    )
    assert not (tmp_path / "without").exists()
    assert not cached_path(cache / "debian", lost.sha256).exists()

    _write_config(project, proxy, snapshot=archive.prefix)
    code, err = _run(capsys, "-q", "build", "--locked", "-f", str(config),
                     "-o", f"oci:{tmp_path / 'with'}")

    assert (code, err) == (0, "")
    assert (tmp_path / "with" / "index.json").is_file()
    assert archive.log == [f"/archive/{snapshot_id(date + offset)}/{lost.filename}"
                           for offset in (timedelta(0), timedelta(hours=6))]
    assert cached_path(cache / "debian", lost.sha256).read_bytes() == real.content
    assert lost_path in proxy.log
    assert read_lock(project / "distill.lock") == lock  # --locked took it as it was
