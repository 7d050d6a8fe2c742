"""Generated system files."""

from __future__ import annotations

import pytest

from distill.errors import FormatError
from distill.rootfs.system import add_system_files, check_os_release
from distill.rootfs.tree import FileTree, Kind


def test_system_files() -> None:
    tree = FileTree()
    tree.add_dir("/run")
    tree.add_dir("/var/run")
    tree.add_dir("/var/lock", mode=0o1777)
    add_system_files(tree)
    nsswitch = tree.get("/etc/nsswitch.conf")
    assert nsswitch is not None and nsswitch.mode == 0o644
    lines = {tuple(line.split()) for line in nsswitch.data.decode().splitlines()
             if line and not line.startswith("#")}
    assert ("hosts:", "files", "dns") in lines
    for database in ("passwd", "group", "shadow", "networks", "protocols", "services",
                     "ethers", "rpc"):
        assert (f"{database}:", "files") in lines
    tmp = tree.get("/tmp")
    assert tmp is not None and (tmp.kind, tmp.mode) == (Kind.DIR, 0o1777)
    assert tree.resolve("/var/run") == "/run"
    assert tree.resolve("/var/lock") == "/run/lock"
    lock = tree.get("/run/lock")
    assert lock is not None and lock.mode == 0o1777


def test_non_empty_var_run_is_left_alone() -> None:
    tree = FileTree()
    tree.add_dir("/run")
    tree.add_file("/var/run/app.pid", b"1")
    add_system_files(tree)
    entry = tree.get("/var/run")
    assert entry is not None and entry.kind is Kind.DIR and "/var/run/app.pid" in tree


def test_os_release_must_resolve() -> None:
    tree = FileTree()
    tree.add_symlink("/etc/os-release", "../usr/lib/os-release")
    with pytest.raises(FormatError, match="/etc/os-release does not resolve"):
        check_os_release(tree)
    tree.add_file("/usr/lib/os-release", b"ID=debian\n")
    assert check_os_release(tree) == "/usr/lib/os-release"
