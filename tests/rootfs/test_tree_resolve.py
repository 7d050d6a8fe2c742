"""FileTree.resolve follows links like the kernel does."""

from __future__ import annotations

from distill.rootfs.tree import FileTree


def _tree() -> FileTree:
    tree = FileTree()
    tree.add_file("/usr/lib/os-release", b"ID=debian\n")
    tree.add_symlink("/etc/os-release", "../usr/lib/os-release")
    tree.add_symlink("/lib", "usr/lib")
    tree.add_symlink("/abs", "/lib/os-release")
    tree.add_symlink("/loop-a", "loop-b")
    tree.add_symlink("/loop-b", "loop-a")
    return tree


def test_relative_and_absolute_links_resolve() -> None:
    tree = _tree()
    assert tree.resolve("/etc/os-release") == "/usr/lib/os-release"
    assert tree.resolve("/abs") == "/usr/lib/os-release"
    assert tree.resolve("/lib/os-release") == "/usr/lib/os-release"
    assert tree.resolve("/usr/lib") == "/usr/lib"


def test_missing_loops_and_files_used_as_folders_do_not_resolve() -> None:
    tree = _tree()
    assert tree.resolve("/etc/missing") is None
    assert tree.resolve("/loop-a") is None
    assert tree.resolve("/etc/os-release/x") is None


def test_dotdot_above_root_stays_at_root() -> None:
    tree = _tree()
    tree.add_symlink("/usr/up", "../../../etc/os-release")
    assert tree.resolve("/usr/up") == "/usr/lib/os-release"
