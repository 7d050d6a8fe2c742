"""Tests of distill.rootfs.ldcache against the real ldconfig of each release and architecture.

The oracle: the packages' files are written to a folder and the release's own
``ldconfig`` (from its libc-bin .deb; run through qemu-aarch64-static for arm64)
builds the cache there. distill's cache must be the same file, byte for byte,
and ``ldconfig -p`` must list the same entries.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from distill.debian.deb import read_deb
from distill.debian.download import DownloadRequest, fetch_all
from distill.debian.index import PackageIndex
from distill.debian.repository import deb_url, load_packages
from distill.debian.sources import debian_sources_for, read_host_sources
from distill.errors import ConfigError, FormatError
from distill.rootfs import ldcache
from distill.rootfs.merged_usr import add_merged_usr_links
from distill.rootfs.packages import install_deb
from distill.rootfs.shared_object import SharedObject, shared_object
from distill.rootfs.tree import FileTree, Kind

LIBRARIES = {
    "bookworm": ("libc6", "libssl3", "zlib1g", "libstdc++6", "libgcc-s1", "libsqlite3-0"),
    "trixie": ("libc6", "libssl3t64", "zlib1g", "libstdc++6", "libgcc-s1", "libsqlite3-0"),
}
TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
QEMU = {"arm64": "qemu-aarch64-static"}
CUSTOM_CONF = (
    b"# a folder of the user's, with a comment\n"
    b"  /opt/custom/lib/   # comment\n"
    b"hwcap 0 ignored\n"
    b"include /etc/ld.so.conf.d/sub/*.conf\n"
)
COMBOS = [
    pytest.param("bookworm", "amd64", id="bookworm-amd64"),
    pytest.param("trixie", "amd64", id="trixie-amd64"),
    pytest.param("bookworm", "arm64", id="bookworm-arm64",
                 marks=pytest.mark.tools("qemu-aarch64-static")),
    pytest.param("trixie", "arm64", id="trixie-arm64",
                 marks=pytest.mark.tools("qemu-aarch64-static")),
]


# --- fixtures --------------------------------------------------------------


@dataclass(frozen=True)
class Oracle:
    """A package tree, and what the release's real ldconfig made of it."""

    tree: FileTree
    """The packages plus the edge cases of :func:`_add_edge_cases`; no cache, no conf."""
    root: Path
    """The tree written out, with libc-bin's conf files, after ``ldconfig -r``."""
    cache: bytes
    generator: str
    links: set[tuple[str, str]]
    """Every symlink under ``root`` after ldconfig ran (path, target)."""


def write_tree(tree: FileTree, root: Path) -> None:
    """Write ``tree`` below ``root`` (files, folders, symlinks, hard links)."""
    root.mkdir(parents=True)
    for entry in tree:
        path = root / entry.path.lstrip("/")
        if entry.kind is Kind.DIR:
            path.mkdir(exist_ok=True)
        elif entry.kind is Kind.FILE:
            path.write_bytes(entry.data)
        elif entry.kind is Kind.SYMLINK:
            path.symlink_to(entry.target)
        else:
            os.link(root / entry.target.lstrip("/"), path)


def symlinks(root: Path) -> set[tuple[str, str]]:
    """(path below root, link text) of every symlink under ``root``."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            if path.is_symlink():
                found.add(("/" + str(path.relative_to(root)), str(path.readlink())))
    return found


def generator_of(cache: bytes) -> str:
    """The generator string of a new-format cache file's extension section."""
    extension = struct.unpack_from("<I", cache, 32)[0]
    offset, size = struct.unpack_from("<II", cache, extension + 16)
    return cache[offset : offset + size].decode()


def print_cache(path: Path) -> list[str]:
    """``ldconfig -p -C path`` (the host's ldconfig), minus the line naming the file."""
    result = subprocess.run(
        ["ldconfig", "-p", "-C", str(path)], capture_output=True, text=True, check=True
    )
    return [line for line in result.stdout.splitlines() if "libs found in cache" not in line]


def _download(release: str, arch: str, names: tuple[str, ...], cache: Path) -> dict[str, Path]:
    sources = debian_sources_for(read_host_sources(), release)
    index = PackageIndex(load_packages(sources, arch=arch, cache=cache), arch=arch)
    records = {name: index.versions(name)[0] for name in names}
    requests = [DownloadRequest(url=deb_url(r), sha256=r.sha256, size=r.size)
                for r in records.values()]
    paths = fetch_all(requests, cache=cache / "debian")
    return {name: paths[deb_url(record)] for name, record in records.items()}


def _add_edge_cases(tree: FileTree, triplet: str) -> None:
    """A user folder named by a conf file, a missing soname link, a dev link, junk."""
    libdir = f"/usr/lib/{triplet}"
    zlib = next(p for p in tree.paths() if re.fullmatch(rf"{libdir}/libz\.so\.1\.\d+.*", p))
    tree.remove(f"{libdir}/libz.so.1")  # ldconfig must create it again
    tree.add_file("/etc/ld.so.conf.d/zz-custom.conf", CUSTOM_CONF)
    tree.add_file("/etc/ld.so.conf.d/sub/extra.conf", b"/opt/extra\n/does/not/exist\n")
    tree.add_file("/opt/custom/lib/libz.so.1.0.0", tree.get(zlib).data)  # type: ignore[union-attr]
    tree.add_symlink("/opt/custom/lib/libz.so", "libz.so.1.0.0")
    tree.add_file("/opt/custom/lib/libnotelf.so", b"/* GNU ld script */\nGROUP ( libz.so.1 )\n")
    tree.add_symlink("/opt/custom/lib/libgone.so.2", "libgone.so.2.0")
    tree.add_symlink("/opt/extra", "custom/lib")  # the same folder twice: searched once


@functools.cache
def _oracle(release: str, arch: str, work: Path, cache: Path) -> Oracle:
    debs = _download(release, arch, (*LIBRARIES[release], "libc-bin"), cache)
    tree = FileTree()
    for name in LIBRARIES[release]:
        install_deb(tree, read_deb(debs[name]))
    add_merged_usr_links(tree)
    _add_edge_cases(tree, TRIPLETS[arch])
    ldconfig = work / f"ldconfig-{release}-{arch}"
    subprocess.run(["dpkg-deb", "-x", str(debs["libc-bin"]), str(ldconfig)], check=True)
    reference = FileTree()
    reference.update(tree)
    reference.add_file(ldcache.LD_SO_CONF, ldcache.LD_SO_CONF_TEXT)
    reference.add_file(ldcache.LIBC_CONF, ldcache.LIBC_CONF_TEXT)
    root = work / f"root-{release}-{arch}"
    write_tree(reference, root)
    binary = next(p for p in (ldconfig / "sbin/ldconfig", ldconfig / "usr/sbin/ldconfig")
                  if p.is_file())
    command = [str(binary), "-r", str(root), "-i"]
    if arch in QEMU:
        command.insert(0, QEMU[arch])
    subprocess.run(command, capture_output=True, check=True)
    data = (root / "etc/ld.so.cache").read_bytes()
    return Oracle(tree=tree, root=root, cache=data, generator=generator_of(data),
                  links=symlinks(root))


@pytest.fixture(scope="session")
def oracle(
    host_mirror: str, distill_cache_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> functools.partial[Oracle]:
    """``oracle(release, arch)``: the real ldconfig's view of a package tree (cached)."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    return functools.partial(
        _oracle, work=tmp_path_factory.mktemp("ldconfig"), cache=distill_cache_root
    )


def ours(tree: FileTree, *, arch: str, generator: str) -> FileTree:
    """A copy of ``tree`` after :func:`ldcache.add_ld_so_cache`."""
    copy = FileTree()
    copy.update(tree)
    ldcache.add_ld_so_cache(copy, arch=arch, generator=generator)
    return copy


# --- against the real ldconfig ---------------------------------------------


@pytest.mark.mirror
@pytest.mark.parametrize(("release", "arch"), COMBOS)
def test_cache_is_byte_for_byte_ldconfigs(
    oracle: functools.partial[Oracle], release: str, arch: str
) -> None:
    reference = oracle(release, arch)
    tree = ours(reference.tree, arch=arch, generator=reference.generator)
    cache = tree.get(ldcache.LD_SO_CACHE)
    assert cache is not None and cache.mode == 0o644
    assert cache.data == reference.cache


@pytest.mark.mirror
@pytest.mark.tools("ldconfig")
@pytest.mark.parametrize(("release", "arch"), COMBOS)
def test_ldconfig_prints_the_same_entries(
    oracle: functools.partial[Oracle], release: str, arch: str, tmp_path: Path
) -> None:
    reference = oracle(release, arch)
    path = tmp_path / "ld.so.cache"
    path.write_bytes(ldcache.ld_so_cache(ours(reference.tree, arch=arch, generator="x"),
                                         arch=arch))
    printed = print_cache(path)
    expected = print_cache(reference.root / "etc/ld.so.cache")
    assert printed[:-1] == expected[:-1]  # the last line names the generator
    assert printed[-1] == "Cache generated by: distill"
    flag = {"amd64": "(libc6,x86-64)", "arm64": "(libc6,AArch64)"}[arch]
    libdir = f"/lib/{TRIPLETS[arch]}"
    for soname in ("libc.so.6", "libssl.so.3", "libz.so.1", "libstdc++.so.6", "libsqlite3.so.0"):
        assert f"\t{soname} {flag} => {libdir}/{soname}" in printed


@pytest.mark.mirror
@pytest.mark.parametrize(("release", "arch"), COMBOS)
def test_soname_links_are_the_ones_ldconfig_creates(
    oracle: functools.partial[Oracle], release: str, arch: str
) -> None:
    reference = oracle(release, arch)
    tree = ours(reference.tree, arch=arch, generator="x")
    links = {(e.path, e.target) for e in tree if e.kind is Kind.SYMLINK}
    assert links == reference.links
    created = tree.get(f"/usr/lib/{TRIPLETS[arch]}/libz.so.1")
    assert created is not None and created.target.startswith("libz.so.1.")
    assert tree.get("/opt/custom/lib/libgone.so.2") is None  # dangling: removed


@pytest.mark.mirror
def test_folders_are_searched_in_conf_order_and_junk_is_skipped(
    oracle: functools.partial[Oracle],
) -> None:
    tree = ours(oracle("bookworm", "amd64").tree, arch="amd64", generator="x")
    entries = ldcache.cache_entries(tree, arch="amd64")
    by_name: dict[str, list[str]] = {}
    for entry in entries:
        by_name.setdefault(entry.soname, []).append(entry.path)
    assert by_name["libz.so.1"] == ["/lib/x86_64-linux-gnu/libz.so.1", "/opt/custom/lib/libz.so.1"]
    assert by_name["libz.so"] == ["/opt/custom/lib/libz.so"]
    assert "libnotelf.so" not in by_name and "libgone.so.2" not in by_name
    assert not any(path.startswith("/opt/extra") for paths in by_name.values() for path in paths)


@pytest.mark.mirror
def test_existing_conf_files_are_kept(oracle: functools.partial[Oracle]) -> None:
    tree = FileTree()
    tree.update(oracle("bookworm", "amd64").tree)
    tree.add_file(ldcache.LD_SO_CONF, b"/opt/custom/lib\n", mode=0o600)
    ldcache.add_ld_so_cache(tree, arch="amd64")
    kept = tree.get(ldcache.LD_SO_CONF)
    assert kept is not None and kept.data == b"/opt/custom/lib\n" and kept.mode == 0o600
    libc = tree.get(ldcache.LIBC_CONF)
    assert libc is not None and libc.data == ldcache.LIBC_CONF_TEXT
    # Without the include, only the user's folder and the trusted folders are searched.
    paths = [e.path for e in ldcache.cache_entries(tree, arch="amd64")]
    assert "/opt/custom/lib/libz.so.1" in paths and "/opt/extra/libz.so.1" not in paths


@pytest.mark.mirror
def test_type_suffixes_are_dropped(oracle: functools.partial[Oracle]) -> None:
    tree = FileTree()
    tree.update(oracle("bookworm", "amd64").tree)
    tree.add_file(ldcache.LD_SO_CONF, b"/opt/custom/lib=libc6\n")
    paths = [e.path for e in ldcache.cache_entries(tree, arch="amd64")]
    assert "/opt/custom/lib/libz.so" in paths


@pytest.mark.mirror
def test_conf_texts_are_libc_bins(oracle: functools.partial[Oracle], distill_cache_root: Path,
                                  tmp_path: Path) -> None:
    for release in ("bookworm", "trixie"):
        deb = _download(release, "amd64", ("libc-bin",), distill_cache_root)["libc-bin"]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path / release)], check=True)
        assert (tmp_path / release / "etc/ld.so.conf").read_bytes() == ldcache.LD_SO_CONF_TEXT
        libc_conf = tmp_path / release / "etc/ld.so.conf.d/libc.conf"
        assert libc_conf.read_bytes() == ldcache.LIBC_CONF_TEXT


@pytest.mark.mirror
def test_elf_reader_reads_sonames_and_refuses_truncated_objects(
    oracle: functools.partial[Oracle],
) -> None:
    tree = oracle("bookworm", "amd64").tree
    ssl_path = tree.resolve("/usr/lib/x86_64-linux-gnu/libssl.so.3")
    assert ssl_path is not None
    data = tree.get(ssl_path).data  # type: ignore[union-attr]
    elf = shared_object(data, machine=62, where="libssl")
    assert elf == SharedObject(soname="libssl.so.3")
    assert shared_object(data, machine=183, where="libssl") is None
    assert shared_object(b"GROUP ( libc.so.6 )" * 8, machine=62, where="x") is None
    with pytest.raises(FormatError, match=r"^libssl: ELF"):
        shared_object(data[:200], machine=62, where="libssl")


# --- without the network ---------------------------------------------------


def test_empty_tree_gives_an_empty_cache_ldconfig_reads(tmp_path: Path) -> None:
    data = ldcache.ld_so_cache(FileTree(), arch="arm64")
    assert data.startswith(b"glibc-ld.so.cache1.1")
    assert struct.unpack_from("<II", data, 20) == (0, 0)
    if shutil.which("ldconfig") is None:
        pytest.skip("ldconfig is not installed")
    (tmp_path / "cache").write_bytes(data)
    assert print_cache(tmp_path / "cache") == ["Cache generated by: distill"]


def test_include_loops_are_refused() -> None:
    tree = FileTree()
    tree.add_file(ldcache.LD_SO_CONF, b"include /etc/ld.so.conf\n")
    with pytest.raises(FormatError, match="nest"):
        ldcache.ld_so_cache(tree, arch="amd64")


def test_unknown_architecture_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'riscv64'"):
        ldcache.ld_so_cache(FileTree(), arch="riscv64")
