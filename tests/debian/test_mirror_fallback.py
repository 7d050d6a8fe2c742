"""Real mirrors that misbehave: by-hash paths missing, files caught mid-sync.

Each test runs its own proxy (support.mirror_proxy) in front of the host mirror
and a fresh cache, so what is fetched and what lands in the cache is visible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from distill.debian.contents import load_contents
from distill.debian.download import cached_path
from distill.debian.release import Release
from distill.debian.repository import fetch_release, load_packages
from distill.debian.sources import Source
from distill.errors import IntegrityError
from support.mirror_proxy import MirrorProxy, running_proxy

INDEX = "main/binary-amd64/Packages.xz"
CONTENTS = "main/Contents-amd64.gz"
CacheFiles = Callable[[Path], list[Path]]


@pytest.fixture
def proxy(host_mirror: str) -> Iterator[MirrorProxy]:
    """A proxy of one's own in front of the host mirror; it forwards everything at first."""
    with running_proxy(host_mirror) as running:
        yield running


@pytest.fixture
def proxied(proxy: MirrorProxy, direct_mirror_source: Source) -> Source:
    """The small suite of the host mirror, reached through :func:`proxy`."""
    return Source(uri=proxy.uri(direct_mirror_source.uri), suites=direct_mirror_source.suites,
                  components=("main",), keyring=direct_mirror_source.keyring)


@pytest.fixture
def release(proxy: MirrorProxy, proxied: Source, http_client: httpx.Client, tmp_path: Path
            ) -> Release:
    """The small suite's verified Release (fetched into a throw-away cache, not logged)."""
    fetched = fetch_release(http_client, proxied, proxied.suites[0], cache=tmp_path / "scratch")
    proxy.log.clear()
    return fetched


def _paths(source: Source, release: Release, name: str) -> tuple[str, str]:
    """The (by-hash, canonical) request paths of ``name`` through the proxy."""
    suite = source.suites[0]
    base = f"{source.uri.removeprefix('http://').partition('/')[2]}/dists/{suite}"
    folder = name.rpartition("/")[0]
    sha = release.files[name].sha256
    return f"/{base}/{folder}/by-hash/SHA256/{sha}", f"/{base}/{name}"


@pytest.mark.mirror
def test_without_by_hash_the_canonical_index_is_fetched_and_verified(
    proxy: MirrorProxy, proxied: Source, release: Release, tmp_path: Path,
    cache_files: CacheFiles, direct_mirror_source: Source,
) -> None:
    proxy.no_by_hash = True
    by_hash, canonical = _paths(proxied, release, INDEX)
    cache = tmp_path / "cache"

    records = load_packages([proxied], arch="amd64", cache=cache)

    assert proxy.log[1:] == [by_hash, canonical]
    sha = release.files[INDEX].sha256
    stored = cached_path(cache, sha)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha
    assert Path("by-hash/sha256") / sha in cache_files(cache)
    direct = load_packages([direct_mirror_source], arch="amd64", cache=tmp_path / "direct")
    assert [(r.name, r.version, r.sha256) for r in records] == [
        (r.name, r.version, r.sha256) for r in direct]


@pytest.mark.mirror
def test_without_by_hash_the_canonical_contents_index_is_fetched(
    proxy: MirrorProxy, proxied: Source, release: Release, tmp_path: Path,
) -> None:
    proxy.no_by_hash = True
    by_hash, canonical = _paths(proxied, release, CONTENTS)

    contents = load_contents([proxied], arch="amd64", cache=tmp_path / "cache")

    assert proxy.log[1:] == [by_hash, canonical]
    assert cached_path(tmp_path / "cache", release.files[CONTENTS].sha256).is_file()
    assert all(".so" in path for path in contents.paths)


@pytest.mark.mirror
def test_an_index_that_never_matches_is_retried_once_then_refused_in_one_line(
    proxy: MirrorProxy, proxied: Source, release: Release, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    by_hash, canonical = _paths(proxied, release, INDEX)
    proxy.alter.update({by_hash: 99, canonical: 99})
    cache = tmp_path / "cache"

    with pytest.raises(IntegrityError) as caught:
        load_packages([proxied], arch="amd64", cache=cache)

    assert str(caught.value) == (
        f"{INDEX} of {proxied.suites[0]} at {proxied.uri} does not match its signed Release"
        " (the mirror is being updated; nothing was used): try again later"
    )
    assert proxy.log[1:] == [by_hash, canonical, by_hash, canonical]
    assert [path.parts[0] for path in cache_files(cache)] == ["inrelease"]
    assert not any(cache.rglob("*.tmp*"))


@pytest.mark.mirror
def test_a_mismatching_by_hash_copy_falls_back_to_the_canonical_one(
    proxy: MirrorProxy, proxied: Source, release: Release, tmp_path: Path,
) -> None:
    by_hash, canonical = _paths(proxied, release, INDEX)
    proxy.alter[by_hash] = 99

    records = load_packages([proxied], arch="amd64", cache=tmp_path / "cache")

    assert records
    assert proxy.log[1:] == [by_hash, canonical]


@pytest.mark.mirror
def test_a_mismatch_that_ends_before_the_retry_is_used(
    proxy: MirrorProxy, proxied: Source, release: Release, tmp_path: Path,
) -> None:
    by_hash, canonical = _paths(proxied, release, INDEX)
    proxy.alter.update({by_hash: 1, canonical: 1})
    cache = tmp_path / "cache"

    records = load_packages([proxied], arch="amd64", cache=cache)

    assert records
    assert proxy.log[1:] == [by_hash, canonical, by_hash]
    sha = release.files[INDEX].sha256
    assert hashlib.sha256(cached_path(cache, sha).read_bytes()).hexdigest() == sha
