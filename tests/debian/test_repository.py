"""Loading package records from signed repositories, cold and warm."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.debian.packages import parse_packages, read_index
from distill.debian.records import PackageRecord
from distill.debian.repository import (
    deb_url,
    find_versions,
    load_packages,
    source_uri_for_suite,
)
from distill.debian.sources import Source
from distill.errors import ConfigError, IntegrityError

CacheFiles = Callable[[Path], list[Path]]


def _source(mirror: Any, copy: Any, keyring_source: Source, **changes: Any) -> Source:
    values: dict[str, Any] = {"uri": mirror.uri, "suites": (copy.suite,),
                              "components": ("main",), "keyring": keyring_source.keyring}
    return Source(**{**values, **changes})


@pytest.mark.mirror
def test_cold_then_warm_load_is_served_from_the_parsed_cache(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    source = _source(local_mirror, local_copy, mirror_source)
    cache = tmp_path / "cache"
    inrelease = f"/debian/dists/{local_copy.suite}/InRelease"

    cold = load_packages([source], arch="amd64", cache=cache)
    assert local_mirror.log == [inrelease, f"/debian/{local_copy.index_path}"]
    [parsed] = [path for path in (cache / "parsed").iterdir() if not path.name.endswith("-v1")]
    written = parsed.stat().st_mtime_ns

    local_mirror.log.clear()
    warm = load_packages([source], arch="amd64", cache=cache)

    assert local_mirror.log == [inrelease]
    assert parsed.stat().st_mtime_ns == written
    text = read_index(local_copy.root / "debian" / local_copy.index_path, name="Packages.xz")
    expected = parse_packages(text, suite=local_copy.suite, component="main", uri=source.uri)
    assert cold == warm == expected
    assert [hash(record) for record in warm] == [hash(record) for record in expected]
    assert [repr(record) for record in warm] == [repr(record) for record in expected]
    sha = local_copy.release.files["main/binary-amd64/Packages.xz"].sha256
    assert Path("by-hash/sha256") / sha in cache_files(cache)


@pytest.mark.mirror
def test_loading_only_some_names_gives_their_records_cold_and_warm(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path,
) -> None:
    source = _source(local_mirror, local_copy, mirror_source)
    everything = load_packages([source], arch="amd64", cache=tmp_path / "everything")
    some = {record.name for record in everything[::2]}
    names = frozenset({*some, "distill-no-such-package"})
    cache = tmp_path / "cache"
    cold = load_packages([source], arch="amd64", cache=cache, names=names)
    warm = load_packages([source], arch="amd64", cache=cache, names=names)
    expected = [record for record in everything if record.name in names]
    assert 0 < len(expected) < len(everything)
    assert cold == warm == expected
    by_name = list((cache / "parsed").glob("*.by-name-v1"))
    assert by_name, "a names-only load keeps each name's records apart"
    for path in by_name:
        path.write_bytes(b"not marshal")  # a damaged file is read around, then rewritten
    assert load_packages([source], arch="amd64", cache=cache, names=names) == expected
    assert load_packages([source], arch="amd64", cache=cache, names=names) == expected
    assert all(path.read_bytes() != b"not marshal" for path in by_name)


@pytest.mark.mirror
def test_a_tampered_packages_index_is_refused_and_not_cached(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    source = _source(local_mirror, local_copy, mirror_source)
    cache = tmp_path / "cache"
    index = local_copy.root / "debian" / local_copy.index_path
    good = index.read_bytes()
    tampered = bytearray(good)
    tampered[len(tampered) // 2] ^= 0xFF
    index.write_bytes(bytes(tampered))

    with pytest.raises(IntegrityError) as caught:
        load_packages([source], arch="amd64", cache=cache)
    assert str(caught.value) == (
        f"main/binary-amd64/Packages.xz of {local_copy.suite} at {local_mirror.uri} does not"
        " match its signed Release (the mirror is being updated; nothing was used):"
        " try again later"
    )
    assert [path.parts[0] for path in cache_files(cache)] == ["inrelease"]

    index.write_bytes(good)
    assert load_packages([source], arch="amd64", cache=cache)
    assert {path.parts[0] for path in cache_files(cache)} == {"inrelease", "by-hash", "parsed"}


@pytest.mark.mirror
def test_find_versions_scans_a_cold_index_and_reads_a_warm_one_from_the_parsed_cache(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    source = _source(local_mirror, local_copy, mirror_source)
    cache = tmp_path / "cache"
    text = read_index(local_copy.root / "debian" / local_copy.index_path, name="Packages.xz")
    name = parse_packages(text, suite="s", component="main", uri="u")[0].name

    cold = find_versions([source], name=name, arch="amd64", cache=cache)
    assert "parsed" not in {path.parts[0] for path in cache_files(cache)}
    load_packages([source], arch="amd64", cache=cache)
    local_mirror.log.clear()
    warm = find_versions([source], name=name, arch="amd64", cache=cache)

    assert cold == warm != []
    assert local_mirror.log == [f"/debian/dists/{local_copy.suite}/InRelease"]


@pytest.mark.mirror
def test_a_mirror_that_serves_no_by_hash_path_serves_the_canonical_name(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path
) -> None:
    source = _source(local_mirror, local_copy, mirror_source)
    served = local_copy.root / "debian" / local_copy.index_path
    canonical = f"dists/{local_copy.suite}/{local_copy.index_name}"
    served.rename(local_copy.root / "debian" / canonical)

    records = load_packages([source], arch="amd64", cache=tmp_path / "cache")

    assert records
    assert local_mirror.log == [f"/debian/dists/{local_copy.suite}/InRelease",
                                f"/debian/{local_copy.index_path}", f"/debian/{canonical}"]


@pytest.mark.mirror
def test_a_tampered_inrelease_is_refused(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path,
    cache_files: CacheFiles,
) -> None:
    source = _source(local_mirror, local_copy, mirror_source)
    inrelease = local_copy.root / "debian" / "dists" / local_copy.suite / "InRelease"
    inrelease.write_bytes(inrelease.read_bytes().replace(b"Acquire-By-Hash: yes",
                                                         b"Acquire-By-Hash: no "))

    with pytest.raises(IntegrityError, match=f"^InRelease of {local_copy.suite} at "
                                             f"{local_mirror.uri}: signature check failed"):
        load_packages([source], arch="amd64", cache=tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


@pytest.mark.mirror
def test_a_signed_release_of_another_suite_is_refused(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path
) -> None:
    dists = local_copy.root / "debian" / "dists"
    shutil.copytree(dists / local_copy.suite, dists / "replayed")
    source = _source(local_mirror, local_copy, mirror_source, suites=("replayed",))

    with pytest.raises(IntegrityError, match=r"the signed file is for suite .*, not replayed$"):
        load_packages([source], arch="amd64", cache=tmp_path / "cache")


@pytest.mark.mirror
def test_an_architecture_the_suite_does_not_serve_is_a_config_error(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path
) -> None:
    source = _source(local_mirror, local_copy, mirror_source)

    with pytest.raises(ConfigError, match=f"^architecture sparc99 is not served by "
                                          f"{local_copy.suite} at {local_mirror.uri}; "
                                          f"it serves: .*amd64"):
        load_packages([source], arch="sparc99", cache=tmp_path / "cache")


@pytest.mark.mirror
def test_a_component_the_suite_does_not_serve_is_a_config_error(
    local_mirror: Any, local_copy: Any, mirror_source: Source, tmp_path: Path
) -> None:
    source = _source(local_mirror, local_copy, mirror_source, components=("nonesuch",))

    with pytest.raises(ConfigError, match=r"^component nonesuch for amd64 is not served by"):
        load_packages([source], arch="amd64", cache=tmp_path / "cache")


@pytest.mark.mirror
def test_the_host_sources_load_every_suite(
    host_sources: list[Source], host_mirror: str, distill_cache_root: Path
) -> None:
    records = load_packages(host_sources, arch="amd64", cache=distill_cache_root / "debian")

    suites = {record.suite for record in records}
    assert suites == {suite for source in host_sources for suite in source.suites}
    by_name: dict[str, list[PackageRecord]] = {}
    for record in records:
        by_name.setdefault(record.name, []).append(record)
    assert any(record.architecture == "amd64" for record in by_name["libc6"])
    assert by_name["tzdata"][0].architecture == "all"
    assert by_name["base-files"][0].essential
    host_uris = {source.uri for source in host_sources}
    assert {record.uri for record in records} == host_uris
    assert len(records) > 50_000


def test_deb_url_from_a_record_or_parts() -> None:
    record = PackageRecord(name="a", version="1", architecture="all", filename="pool/main/a/a.deb",
                           size=1, sha256="0" * 64, suite="s", component="main",
                           uri="http://m.example/debian")

    assert deb_url(record) == "http://m.example/debian/pool/main/a/a.deb"
    assert deb_url("http://m.example/debian/", "pool/main/a/a.deb") == deb_url(record)
    with pytest.raises(TypeError):
        deb_url("http://m.example/debian")


def test_source_uri_for_suite() -> None:
    sources = [
        Source(uri="http://m.example/debian", suites=("bookworm", "bookworm-updates"),
               components=("main",)),
        Source(uri="http://m.example/debian-security", suites=("bookworm-security",),
               components=("main",)),
    ]

    assert source_uri_for_suite(sources, "bookworm-updates") == "http://m.example/debian"
    assert source_uri_for_suite(sources, "bookworm-security") == "http://m.example/debian-security"
    with pytest.raises(ConfigError, match="no configured source serves suite trixie; the sources "
                                          "serve: bookworm, bookworm-updates, bookworm-security"):
        source_uri_for_suite(sources, "trixie")


def _paragraph(name: str, arch: str) -> str:
    return (f"Package: {name}\nVersion: 1.0\nArchitecture: {arch}\n"
            f"Filename: pool/main/{name}_1.0_{arch}.deb\nSize: 10\nSHA256: {'ab' * 32}\n")


def _publish(dists: Path, files: dict[str, bytes], *, signer: Any, release_fields: str) -> None:
    """Write ``files`` below ``dists`` and a signed InRelease that lists them."""
    lines = []
    for name, data in files.items():
        (dists / name).parent.mkdir(parents=True, exist_ok=True)
        (dists / name).write_bytes(data)
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}")
    release = release_fields + "SHA256:\n" + "\n".join(lines) + "\n"
    (dists / "InRelease").write_bytes(signer.clearsign(release))


@pytest.mark.parametrize("with_all_in_arch", [False, True])
def test_a_repository_without_by_hash_and_with_a_separate_all_index(
    signer: Any, file_server: Any, tmp_path: Path, with_all_in_arch: bool
) -> None:
    dists = file_server.root / "debian" / "dists" / "sid"
    amd64 = _paragraph("tool", "amd64").encode()
    arch_all = _paragraph("data", "all").encode()
    _publish(dists, {
        "main/binary-amd64/Packages.gz": gzip.compress(amd64),
        "main/binary-amd64/Packages": amd64,
        "main/binary-all/Packages": arch_all,
    }, signer=signer, release_fields=(
        "Suite: unstable\nCodename: sid\nArchitectures: all amd64\nComponents: main\n"
        + ("No-Support-for-Architecture-all: Packages\n" if with_all_in_arch else "")
    ))
    source = Source(uri=file_server.uri, suites=("sid",), components=("main",),
                    keyring=signer.keyring)

    records = load_packages([source], arch="amd64", cache=tmp_path / "cache")

    expected = ["tool"] if with_all_in_arch else ["tool", "data"]
    assert [record.name for record in records] == expected
    wanted = ["InRelease", "main/binary-amd64/Packages.gz"]
    wanted += [] if with_all_in_arch else ["main/binary-all/Packages"]
    assert file_server.log == [f"/debian/dists/sid/{name}" for name in wanted]


def test_an_expired_release_is_refused(signer: Any, file_server: Any, tmp_path: Path) -> None:
    dists = file_server.root / "debian" / "dists" / "sid"
    _publish(dists, {"main/binary-amd64/Packages": b""}, signer=signer, release_fields=(
        "Suite: unstable\nCodename: sid\nArchitectures: amd64\nComponents: main\n"
        "Valid-Until: Sat, 01 Jan 2000 00:00:00 UTC\n"
    ))
    source = Source(uri=file_server.uri, suites=("sid",), components=("main",),
                    keyring=signer.keyring)

    with pytest.raises(IntegrityError, match=f"^InRelease of sid at {file_server.uri}: expired "
                                             "on 2000-01-01 00:00 UTC"):
        load_packages([source], arch="amd64", cache=tmp_path / "cache")
