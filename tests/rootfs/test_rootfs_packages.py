"""install_deb with real packages: slimming, merged /usr, scanner metadata."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from debian.deb822 import Deb822

from distill.debian.deb import DebArchive
from distill.errors import FormatError
from distill.rootfs.packages import STATUS_DIR, install_deb, restricted_md5sums
from distill.rootfs.tree import FileTree, Kind


@pytest.fixture(scope="module")
def installed(debs: dict[str, DebArchive]) -> FileTree:
    tree = FileTree()
    for name in ("base-files", "netbase", "tzdata", "media-types", "libc6"):
        install_deb(tree, debs[name])
    return tree


def _md5sums(tree: FileTree, package: str) -> list[tuple[str, str]]:
    entry = tree.get(f"{STATUS_DIR}/{package}.md5sums")
    assert entry is not None
    return [tuple(line.split("  ", 1)) for line in entry.data.decode().splitlines()]  # type: ignore[misc]


@pytest.mark.mirror
def test_docs_dropped_copyright_kept(installed: FileTree) -> None:
    docs = [p for p in installed.paths() if p.startswith("/usr/share/doc/")]
    files = [p for p in docs if installed.get(p).kind is not Kind.DIR]  # type: ignore[union-attr]
    assert files and all(p.endswith("/copyright") for p in files)
    assert "/usr/share/doc/tzdata/copyright" in files
    assert "/usr/share/doc/libc6/copyright" in files
    for gone in ("/usr/share/man", "/usr/share/info", "/usr/share/lintian", "/usr/share/bug"):
        assert gone not in installed


@pytest.mark.mirror
def test_nothing_left_outside_usr_for_merged_folders(installed: FileTree) -> None:
    assert not [p for p in installed.paths() if p.split("/")[1] in {"bin", "sbin", "lib", "lib64"}]
    assert "/usr/lib/x86_64-linux-gnu/libc.so.6" in installed


@pytest.mark.mirror
@pytest.mark.parametrize("package", ["base-files", "netbase", "tzdata", "media-types", "libc6"])
def test_md5sums_list_shipped_files_with_matching_digests(
    installed: FileTree, debs: dict[str, DebArchive], package: str
) -> None:
    lines = _md5sums(installed, package)
    assert lines
    for digest, rel in lines:
        entry = installed.get("/" + rel)
        assert entry is not None, rel
        assert entry.kind is Kind.FILE
        assert hashlib.md5(entry.data).hexdigest() == digest, rel
    original = len(debs[package].md5sums.splitlines())
    if package in {"tzdata", "libc6"}:
        assert len(lines) < original  # their docs are gone


@pytest.mark.mirror
def test_libc6_md5sums_use_merged_paths(installed: FileTree) -> None:
    paths = {rel for _, rel in _md5sums(installed, "libc6")}
    assert "usr/lib/x86_64-linux-gnu/libc.so.6" in paths
    assert not [p for p in paths if p.startswith(("lib/", "lib64/"))]


@pytest.mark.mirror
@pytest.mark.parametrize("package", ["base-files", "netbase", "tzdata", "media-types", "libc6"])
def test_status_paragraph_parses(
    installed: FileTree, debs: dict[str, DebArchive], package: str
) -> None:
    entry = installed.get(f"{STATUS_DIR}/{package}")  # Multi-Arch: same libc6 too
    assert entry is not None and entry.mode == 0o644
    paragraphs = list(Deb822.iter_paragraphs(entry.data.decode()))
    assert len(paragraphs) == 1
    fields = paragraphs[0]
    assert fields["Package"] == package
    assert fields["Version"] and fields["Architecture"]
    original = Deb822(debs[package].control)
    assert [k for k in fields if k != "Conffiles"] == list(original.keys())


@pytest.mark.mirror
@pytest.mark.parametrize("package", ["base-files", "netbase"])
def test_conffiles_are_listed_as_dpkg_does(
    installed: FileTree, debs: dict[str, DebArchive], package: str
) -> None:
    entry = installed.get(f"{STATUS_DIR}/{package}")
    assert entry is not None
    fields = Deb822(entry.data.decode())
    listed = [line.split() for line in fields["Conffiles"].strip().splitlines()]
    shipped_conffiles = [p for p in debs[package].conffiles.split() if p in installed]
    assert listed and [path for path, _ in listed] == shipped_conffiles
    for path, md5 in listed:
        shipped = installed.get(path)
        assert shipped is not None and hashlib.md5(shipped.data).hexdigest() == md5
    keys = list(fields.keys())
    assert keys.index("Conffiles") == keys.index("Description") - 1
    md5sums = {"/" + rel for _, rel in _md5sums(installed, package)}
    assert not md5sums & {path for path, _ in listed}  # dpkg keeps them apart


@pytest.mark.mirror
def test_base_files_conffiles_include_debian_version(installed: FileTree) -> None:
    entry = installed.get(f"{STATUS_DIR}/base-files")
    assert entry is not None
    assert " /etc/debian_version " in entry.data.decode()


def test_only_shipped_conffiles_are_listed(make_deb) -> None:  # type: ignore[no-untyped-def]
    deb = make_deb([
        {"name": "etc/demo.conf", "data": b"a=1\n"},
        {"name": "usr/share/doc/demo/README", "data": b"dropped"},
    ])
    deb = dataclasses.replace(
        deb, control=deb.control + "Description: demo\n more\n",
        conffiles="/etc/demo.conf\n/etc/missing.conf\n/usr/share/doc/demo/README\n")
    tree = FileTree()
    install_deb(tree, deb)
    status = tree.get(f"{STATUS_DIR}/demo")
    assert status is not None
    md5 = hashlib.md5(b"a=1\n").hexdigest()
    assert status.data.decode().endswith(
        f"Conffiles:\n /etc/demo.conf {md5}\nDescription: demo\n more\n")


def test_no_conffiles_no_field(make_deb) -> None:  # type: ignore[no-untyped-def]
    deb = make_deb([{"name": "etc/demo.conf", "data": b"x"}])
    tree = FileTree()
    install_deb(tree, deb)
    status = tree.get(f"{STATUS_DIR}/demo")
    assert status is not None and b"Conffiles" not in status.data


@pytest.mark.mirror
def test_install_reports_the_package(debs: dict[str, DebArchive]) -> None:
    report = install_deb(FileTree(), debs["netbase"])
    assert (report.name, report.architecture) == ("netbase", "all")
    assert report.version and report.files == 5
    assert report.size > 0


def test_hardlink_to_a_dropped_file_becomes_a_copy(make_deb) -> None:  # type: ignore[no-untyped-def]
    deb = make_deb([
        {"name": "usr/share/doc/demo/README", "data": b"hello"},
        {"name": "usr/bin/tool", "data": b"#!", "mode": 0o755},
        {"name": "usr/bin/alias", "kind": "hardlink", "target": "./usr/bin/tool"},
        {"name": "usr/lib/readme", "kind": "hardlink", "target": "./usr/share/doc/demo/README"},
    ])
    tree = FileTree()
    install_deb(tree, deb)
    alias = tree.get("/usr/bin/alias")
    assert alias is not None and alias.kind is Kind.HARDLINK and alias.target == "/usr/bin/tool"
    copy = tree.get("/usr/lib/readme")
    assert copy is not None and copy.kind is Kind.FILE and copy.data == b"hello"
    assert "/usr/share/doc/demo/README" not in tree


def test_devices_are_rejected_naming_the_package(make_deb) -> None:  # type: ignore[no-untyped-def]
    deb = make_deb([{"name": "dev/fifo", "kind": "fifo"}], package="weird")
    with pytest.raises(FormatError, match="package weird: /dev/fifo"):
        install_deb(FileTree(), deb)


def test_file_over_a_folder_is_rejected(make_deb) -> None:  # type: ignore[no-untyped-def]
    tree = FileTree()
    tree.add_file("/usr/lib/thing/inside", b"")
    deb = make_deb([{"name": "usr/lib/thing", "data": b"x"}], package="clash")
    with pytest.raises(FormatError, match="package clash: /usr/lib/thing is a folder"):
        install_deb(tree, deb)


def test_restricted_md5sums_rewrites_and_filters() -> None:
    md5sums = "aa  lib/x/libc.so.6\nbb  usr/share/doc/x/changelog.gz\ncc  usr/bin/env\n"
    text = restricted_md5sums(md5sums, {"/usr/lib/x/libc.so.6", "/usr/bin/env"})
    assert text == b"aa  usr/lib/x/libc.so.6\ncc  usr/bin/env\n"


def test_packaged_top_level_links_are_left_to_merged_usr(make_deb) -> None:  # type: ignore[no-untyped-def]
    # trixie's base-files ships /bin -> usr/bin and friends itself.
    deb = make_deb([
        {"name": "usr", "kind": "dir", "mode": 0o755},
        {"name": "usr/bin", "kind": "dir", "mode": 0o755},
        {"name": "bin", "kind": "symlink", "target": "usr/bin"},
        {"name": "sbin", "kind": "symlink", "target": "/usr/sbin"},
    ])
    tree = FileTree()
    install_deb(tree, deb)
    usr_bin = tree.get("/usr/bin")
    assert usr_bin is not None and usr_bin.kind is Kind.DIR
    assert "/bin" not in tree and "/sbin" not in tree and "/usr/sbin" not in tree


def test_top_level_link_elsewhere_is_rejected(make_deb) -> None:  # type: ignore[no-untyped-def]
    deb = make_deb([{"name": "lib", "kind": "symlink", "target": "opt/lib"}])
    with pytest.raises(FormatError, match="/lib links to opt/lib"):
        install_deb(FileTree(), deb)
