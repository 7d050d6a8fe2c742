"""Alternatives as direct symlinks: the JVM's tools in /usr/bin."""

from __future__ import annotations

import pytest

from distill.errors import FormatError
from distill.rootfs.alternatives import add_alternative_links, jvm_alternatives, jvm_home
from distill.rootfs.tree import FileTree

JVM = "/usr/lib/jvm/java-17-openjdk-arm64"


def _jvm_tree() -> FileTree:
    tree = FileTree()
    tree.add_file(f"{JVM}/bin/java", b"\x7fELF", mode=0o755)
    tree.add_file(f"{JVM}/bin/keytool", b"\x7fELF", mode=0o755)
    tree.add_file(f"{JVM}/bin/README", b"text", mode=0o644)
    tree.add_file(f"{JVM}/lib/server/libjvm.so", b"\x7fELF", mode=0o644)
    tree.add_symlink("/usr/lib/jvm/default-java", "java-17-openjdk-arm64")
    return tree


def test_jvm_tools_become_relative_links_into_the_jvm() -> None:
    tree = _jvm_tree()
    links = jvm_alternatives(tree)
    assert links == {"/usr/bin/java": f"{JVM}/bin/java", "/usr/bin/keytool": f"{JVM}/bin/keytool"}
    add_alternative_links(tree, links)
    java = tree.get("/usr/bin/java")
    assert java is not None and java.target == "../lib/jvm/java-17-openjdk-arm64/bin/java"
    assert tree.resolve("/usr/bin/java") == f"{JVM}/bin/java"
    assert tree.get("/etc/alternatives") is None


def test_a_link_to_a_missing_file_is_refused() -> None:
    with pytest.raises(FormatError, match=r"/usr/bin/javac: its target .*bin/javac is not a file"):
        add_alternative_links(_jvm_tree(), {"/usr/bin/javac": f"{JVM}/bin/javac"})


def test_exactly_one_jvm_is_expected() -> None:
    assert jvm_home(_jvm_tree()) == JVM
    with pytest.raises(FormatError, match="found 0"):
        jvm_home(FileTree())
    tree = _jvm_tree()
    tree.add_file("/usr/lib/jvm/java-21-openjdk-arm64/bin/java", b"", mode=0o755)
    with pytest.raises(FormatError, match="found 2"):
        jvm_home(tree)
