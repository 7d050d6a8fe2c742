"""Fixtures for the layer tests: a small tree with every kind of entry, a store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from distill.layers.store import LayerStore
from distill.rootfs.tree import FileTree


def _sample_tree() -> FileTree:
    """Files, folders, symlinks, a hard link sorting before its target, special modes."""
    tree = FileTree()
    tree.add_dir("/tmp", mode=0o1777)
    tree.add_dir("/home/nonroot", mode=0o700, uid=65532, gid=65532)
    tree.add_file("/usr/bin/tool", b"#!/bin/sh\necho hi\n" * 50, mode=0o4755)
    tree.add_hardlink("/bin/tool-link", "/usr/bin/tool")
    tree.add_symlink("/usr/bin/sh", "dash")
    tree.add_file("/etc/os-release", b"ID=debian\n", mode=0o644)
    tree.add_file("/srv/" + "long-name-" * 15, b"long", mode=0o640, uid=1000, gid=1000)
    tree.add_file("/srv/caf\u00e9/\u65e5\u672c", b"unicode", mode=0o2755)
    return tree


@pytest.fixture
def make_sample_tree() -> Callable[[], FileTree]:
    """Makes a fresh sample tree on each call."""
    return _sample_tree


@pytest.fixture
def tree() -> FileTree:
    """A fresh sample tree."""
    return _sample_tree()


@pytest.fixture
def store(tmp_path: Path) -> LayerStore:
    """An empty layer store in a temporary folder."""
    return LayerStore(tmp_path / "layers")
