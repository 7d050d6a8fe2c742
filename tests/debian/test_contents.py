"""The Contents index: verified like Packages, kept to shared libraries, cached parsed."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from distill.debian.contents import library_folders, load_contents, parse_contents
from distill.debian.repository import fetch_release_file
from distill.debian.sources import Source
from distill.errors import ConfigError, IntegrityError
from distill.fsutil import cache_root

CONTENTS = "main/Contents-amd64.gz"
AMD64 = frozenset(library_folders("amd64"))
SAMPLE = b"""\
bin/ls                                                  utils/coreutils
lib/x86_64-linux-gnu/libc.so.6                          libs/libc6
usr/lib/x86_64-linux-gnu/libssl.so.3                    libs/libssl3
usr/lib/x86_64-linux-gnu/libfoo.so.1                    libs/libfoo1,contrib/libs/libfoo1-alt
usr/lib/x86_64-linux-gnu/odd name.so.2                  libs/oddity
usr/lib/x86_64-linux-gnu/gconv/UTF-16.so                libs/libc6
usr/lib/x86_64-linux-gnu/libz.a                         libdevel/zlib1g-dev
usr/lib/aarch64-linux-gnu/libc.so.6                     libs/libc6-arm64-cross
usr/share/doc/libc6/libc.so.txt                         libs/libc6
usr/lib/libbar.so.0                                     non-free/libs/libbar0
"""


def test_parse_keeps_only_shared_libraries_directly_in_the_loader_folders() -> None:
    assert parse_contents(SAMPLE, folders=AMD64) == {
        "lib/x86_64-linux-gnu/libc.so.6": ("libc6",),
        "usr/lib/x86_64-linux-gnu/libssl.so.3": ("libssl3",),
        "usr/lib/x86_64-linux-gnu/libfoo.so.1": ("libfoo1", "libfoo1-alt"),
        "usr/lib/x86_64-linux-gnu/odd name.so.2": ("oddity",),
        "usr/lib/libbar.so.0": ("libbar0",),
    }


def test_loader_folders_are_in_the_loaders_order() -> None:
    assert library_folders("arm64") == ("lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu",
                                        "lib", "usr/lib")
    with pytest.raises(ConfigError, match="architecture sparc"):
        library_folders("sparc")


@pytest.mark.mirror
def test_the_release_maps_sonames_to_their_packages(host_sources: list[Source],
                                                    host_mirror: str) -> None:
    contents = load_contents(host_sources, arch="amd64", cache=cache_root() / "debian")
    assert contents.providers("libc.so.6") == ("libc6",)
    assert contents.providers("ld-linux-x86-64.so.2") == ("libc6",)
    assert contents.providers("libsqlite3.so.0") == ("libsqlite3-0",)
    assert contents.providers("libcrypto.so.3") == ("libssl3",)
    assert contents.providers("libstdc++.so.6") == ("libstdc++6",)
    assert contents.providers("libdistill-nothing.so.9") == ()
    assert 1_000 < len(contents.paths) < 200_000
    assert all(path.rpartition("/")[0] in AMD64 and ".so" in path for path in contents.paths)


@pytest.fixture
def served_contents(local_mirror: Any, local_copy: Any, mirror_source: Source,
                    http_client: httpx.Client, tmp_path: Path) -> tuple[Source, Path, str]:
    """The small suite's real Contents-amd64.gz added to the local mirror: (source, file, path)."""
    entry = local_copy.release.files[CONTENTS]
    relative = f"dists/{local_copy.suite}/main/by-hash/SHA256/{entry.sha256}"
    data = fetch_release_file(http_client, local_copy.release, uri=mirror_source.uri,
                              suite=local_copy.suite, path=CONTENTS,
                              cache=tmp_path / "fetched").read_bytes()
    target = local_copy.root / "debian" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    source = Source(uri=local_mirror.uri, suites=(local_copy.suite,), components=("main",),
                    keyring=mirror_source.keyring)
    return source, target, f"/debian/{relative}"


@pytest.mark.mirror
def test_fetched_by_hash_then_read_from_the_parsed_cache(
    served_contents: tuple[Source, Path, str], local_mirror: Any, local_copy: Any,
    tmp_path: Path,
) -> None:
    source, served, request = served_contents
    cache = tmp_path / "cache"
    inrelease = f"/debian/dists/{local_copy.suite}/InRelease"

    cold = load_contents([source], arch="amd64", cache=cache)
    assert local_mirror.log == [inrelease, request]
    local_mirror.log.clear()
    warm = load_contents([source], arch="amd64", cache=cache)

    assert local_mirror.log == [inrelease]
    assert cold == warm
    assert dict(cold.paths) == parse_contents(gzip.decompress(served.read_bytes()),
                                              folders=AMD64)


@pytest.mark.mirror
def test_a_tampered_contents_index_is_refused_and_not_cached(
    served_contents: tuple[Source, Path, str], tmp_path: Path,
    cache_files: Callable[[Path], list[Path]],
) -> None:
    source, served, _ = served_contents
    good = served.read_bytes()
    tampered = bytearray(good)
    tampered[len(tampered) // 2] ^= 0xFF
    served.write_bytes(bytes(tampered))
    cache = tmp_path / "cache"

    with pytest.raises(IntegrityError, match=f"^{CONTENTS} of {source.suites[0]} at "
                                             f"{source.uri} does not match its signed Release"):
        load_contents([source], arch="amd64", cache=cache)
    assert [path.parts[0] for path in cache_files(cache)] == ["inrelease"]
