"""Merged /usr: paths move under /usr, links stay valid, top-level links appear."""

from __future__ import annotations

import pytest

from distill.debian.deb import DebArchive
from distill.errors import FormatError
from distill.rootfs.merged_usr import add_merged_usr_links, canonical_path, moved_link_target
from distill.rootfs.packages import install_deb
from distill.rootfs.tree import FileTree, Kind


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/bin/sh", "/usr/bin/sh"),
        ("/sbin", "/usr/sbin"),
        ("lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        ("/lib64/ld-linux-x86-64.so.2", "/usr/lib64/ld-linux-x86-64.so.2"),
        ("/lib32/x", "/usr/lib32/x"),
        ("/libx32/x", "/usr/libx32/x"),
        ("/usr/lib/os-release", "/usr/lib/os-release"),
        ("/library/x", "/library/x"),
        ("/etc/bin", "/etc/bin"),
    ],
)
def test_canonical_path(path: str, expected: str) -> None:
    assert canonical_path(path) == expected


def test_relative_link_in_same_folder_keeps_its_text() -> None:
    # arm64 libc6 on bookworm: /lib/ld-linux-aarch64.so.1 -> aarch64-linux-gnu/...
    target = "aarch64-linux-gnu/ld-linux-aarch64.so.1"
    assert moved_link_target("/lib/ld-linux-aarch64.so.1", "/usr/lib/ld-linux-aarch64.so.1",
                             target) == target


def test_relative_link_moved_deeper_is_rewritten() -> None:
    moved = moved_link_target("/lib/x/libfoo.so", "/usr/lib/x/libfoo.so", "../../usr/lib/bar")
    assert moved == "../bar"


def test_absolute_link_target_is_kept() -> None:
    target = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    assert moved_link_target("/lib64/ld", "/usr/lib64/ld", target) == target


def test_lib64_link_only_when_usr_lib64_exists() -> None:
    tree = FileTree()
    tree.add_dir("/usr/bin")
    tree.add_dir("/usr/lib")
    assert add_merged_usr_links(tree) == ["/bin", "/lib"]
    tree.add_dir("/usr/lib64")
    assert "/lib64" in add_merged_usr_links(tree)
    link = tree.get("/lib64")
    assert link is not None
    assert (link.kind, link.target) == (Kind.SYMLINK, "usr/lib64")


def test_a_real_top_level_folder_is_an_error() -> None:
    tree = FileTree()
    tree.add_dir("/usr/bin")
    tree.add_file("/bin/sh", b"")
    with pytest.raises(FormatError, match="/bin is a dir"):
        add_merged_usr_links(tree)


@pytest.mark.mirror
def test_amd64_loader_link_resolves(debs: dict[str, DebArchive]) -> None:
    tree = FileTree()
    install_deb(tree, debs["libc6"])
    add_merged_usr_links(tree)
    assert tree.get("/lib64/ld-linux-x86-64.so.2") is None
    assert "/lib64" in tree and "/usr/lib64/ld-linux-x86-64.so.2" in tree
    # PT_INTERP of every amd64 program
    resolved = tree.resolve("/lib64/ld-linux-x86-64.so.2")
    assert resolved == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    loader = tree.get(resolved)
    assert loader is not None and loader.kind is Kind.FILE and loader.mode & 0o111
    assert tree.resolve("/lib/x86_64-linux-gnu/libc.so.6") == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    tops = {e.path for e in tree if e.path.count("/") == 1}
    assert not tops & {"/lib32", "/libx32"}


def test_arm64_loader_layout_resolves(make_deb) -> None:  # type: ignore[no-untyped-def]
    # The bookworm arm64 libc6 layout (apt on this host has no arm64 lists).
    deb = make_deb([
        {"name": "lib", "kind": "dir", "mode": 0o755},
        {"name": "lib/aarch64-linux-gnu", "kind": "dir", "mode": 0o755},
        {"name": "lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", "data": b"\x7fELF", "mode": 0o755},
        {"name": "lib/ld-linux-aarch64.so.1", "kind": "symlink",
         "target": "aarch64-linux-gnu/ld-linux-aarch64.so.1"},
        {"name": "lib/aarch64-linux-gnu/deep", "kind": "dir", "mode": 0o755},
        {"name": "lib/aarch64-linux-gnu/deep/up", "kind": "symlink",
         "target": "../../../lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"},
    ])
    tree = FileTree()
    install_deb(tree, deb)
    add_merged_usr_links(tree)
    loader = "/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"
    assert tree.resolve("/lib/ld-linux-aarch64.so.1") == loader
    assert tree.resolve("/usr/lib/aarch64-linux-gnu/deep/up") == loader
    up = tree.get("/usr/lib/aarch64-linux-gnu/deep/up")
    assert up is not None and up.target == "../ld-linux-aarch64.so.1"
