"""Busybox under /busybox: the applet list read from the binary of each architecture."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from distill.debian.deb import DebArchive, read_deb
from distill.debian.download import DownloadRequest, fetch_all
from distill.debian.index import PackageIndex
from distill.debian.repository import deb_url, load_packages, source_uri_for_suite
from distill.debian.sources import debian_sources_for, read_host_sources
from distill.errors import FormatError
from distill.fsutil import cache_root
from distill.rootfs.busybox import BUSYBOX_PATH, add_busybox, applet_names, busybox_binary
from distill.rootfs.tree import FileTree, Kind


def _busybox_deb(release: str, arch: str) -> Path:
    sources = debian_sources_for(read_host_sources(), release)
    cache = cache_root() / "debian"
    index = PackageIndex(load_packages(sources, arch=arch, cache=cache), arch=arch,
                         release=release)
    record = index.versions("busybox-static")[0]
    url = deb_url(source_uri_for_suite(sources, record.suite), record.filename)
    request = DownloadRequest(url=url, sha256=record.sha256, size=record.size)
    return fetch_all([request], cache=cache)[url]


@pytest.fixture(scope="module")
def busybox_debs(host_mirror: str) -> dict[str, DebArchive]:
    """busybox-static of bookworm for amd64 and arm64, and of trixie for amd64."""
    return {
        f"{release}-{arch}": read_deb(_busybox_deb(release, arch))
        for release, arch in (("bookworm", "amd64"), ("bookworm", "arm64"), ("trixie", "amd64"))
    }


@pytest.mark.mirror
def test_applets_match_what_busybox_itself_lists(
    busybox_debs: dict[str, DebArchive], tmp_path: Path
) -> None:
    for key in ("bookworm-amd64", "trixie-amd64"):
        binary = busybox_binary(busybox_debs[key])
        program = tmp_path / f"busybox-{key}"
        program.write_bytes(binary)
        program.chmod(0o755)
        # The oracle only: running the host-arch binary here, never while building.
        listed = subprocess.run([str(program), "--list"], capture_output=True, text=True,
                                check=True).stdout.split()
        assert sorted(applet_names(binary)) == sorted(listed), key
        assert {"sh", "ls", "wget", "vi"} <= set(listed)


@pytest.mark.mirror
def test_arm64_binary_has_the_same_applets(busybox_debs: dict[str, DebArchive]) -> None:
    amd64 = applet_names(busybox_binary(busybox_debs["bookworm-amd64"]))
    arm64 = applet_names(busybox_binary(busybox_debs["bookworm-arm64"]))
    assert arm64 == amd64


@pytest.mark.mirror
def test_add_busybox_links_every_applet(busybox_debs: dict[str, DebArchive]) -> None:
    tree = FileTree()
    applets = add_busybox(tree, busybox_debs["bookworm-amd64"])
    binary = tree.get(BUSYBOX_PATH)
    assert binary is not None and binary.kind is Kind.FILE and binary.mode == 0o755
    sh = tree.get("/busybox/sh")
    assert sh is not None and sh.kind is Kind.SYMLINK and sh.target == "busybox"
    assert tree.resolve("/busybox/[[") == BUSYBOX_PATH
    # /busybox, one path per applet (busybox itself is the binary), status.d and its parents
    assert len(tree.paths()) == 1 + len(applets) + 5
    assert tree.get("/var/lib/dpkg/status.d/busybox-static") is not None
    assert not any(p.startswith(("/bin", "/usr")) for p in tree.paths())


def test_a_binary_without_the_table_is_refused() -> None:
    with pytest.raises(FormatError, match="no applet name table"):
        applet_names(b"\x7fELF" + b"\0" * 100)
    with pytest.raises(FormatError, match="only 4 names"):
        applet_names(b"junk[\x00[[\x00ash\x00cat\x00\x00more")


def test_table_stops_at_the_first_unsorted_name() -> None:
    names = [f"a{i:03d}" for i in range(60)]
    blob = b"x[\x00[[\x00" + b"\x00".join(n.encode() for n in names) + b"\x00a000\x00zz\x00"
    assert applet_names(blob) == ("[", "[[", *names)
