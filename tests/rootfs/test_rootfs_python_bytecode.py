"""The image-interpreter compiler's parts that need no image: pyc format, placement,
the scratch tree and the qemu rule (the python3 flavor's tests run the real thing)."""

from __future__ import annotations

import importlib.util
import marshal
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from distill.errors import DistillError
from distill.rootfs.python_bytecode import (
    add_pycs,
    compile_command,
    compile_tree,
    forget_md5sums,
    python_sources,
)
from distill.rootfs.python_runtime import ImageInterpreter, image_interpreter, write_tree
from distill.rootfs.tree import FileTree, Kind

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
TAG = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
SOURCE = b"VALUE = 'v1'\ndef boom():\n    raise RuntimeError('boom')\n"


def _tree() -> FileTree:
    tree = FileTree()
    tree.add_file("/lib/pkg/__init__.py", b"")
    tree.add_file("/lib/pkg/mod.py", SOURCE)
    tree.add_file("/lib/pkg/broken.py", b"def nope(:\n")
    tree.add_file("/lib/pkg/data.txt", b"not python\n")
    return tree


def test_pycs_are_unchecked_hash_named_by_image_path_and_reproducible() -> None:
    sources = python_sources(_tree())
    first = compile_command((sys.executable,), sources)
    second = compile_command((sys.executable,), sources)
    assert first == second
    by_path = dict(zip((s.path for s in sources), first, strict=True))
    assert by_path["/lib/pkg/broken.py"] == b""
    pyc = by_path["/lib/pkg/mod.py"]
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    assert pyc[8:16] == importlib.util.source_hash(SOURCE)
    assert marshal.loads(pyc[16:]).co_filename == "/lib/pkg/mod.py"


def test_both_puts_pycs_in_pycache_beside_the_sources() -> None:
    tree = _tree()
    sources = python_sources(tree)
    added = add_pycs(tree, sources, compile_command((sys.executable,), sources),
                     python=HOST, bytecode="both")
    assert added == 2
    assert f"/lib/pkg/__pycache__/mod.{TAG}.pyc" in tree
    assert "/lib/pkg/mod.py" in tree
    assert not any(p.endswith(f"broken.{TAG}.pyc") for p in tree.paths())


def test_pyc_replaces_each_compiled_source_and_keeps_the_broken_one() -> None:
    tree = _tree()
    sources = python_sources(tree)
    add_pycs(tree, sources, compile_command((sys.executable,), sources),
             python=HOST, bytecode="pyc")
    files = {e.path for e in tree if e.kind is Kind.FILE}
    assert files == {"/lib/pkg/__init__.pyc", "/lib/pkg/mod.pyc", "/lib/pkg/broken.py",
                     "/lib/pkg/data.txt"}


def test_sourceless_pycs_import_and_run(tmp_path: Path) -> None:
    tree = _tree()
    sources = python_sources(tree)
    add_pycs(tree, sources, compile_command((sys.executable,), sources),
             python=HOST, bytecode="pyc")
    write_tree(tree, tmp_path)
    sys.path.insert(0, str(tmp_path / "lib"))
    try:
        module = importlib.import_module("pkg.mod")
        assert module.VALUE == "v1"
        assert module.__file__ is not None and module.__file__.endswith("mod.pyc")
    finally:
        sys.path.remove(str(tmp_path / "lib"))
        for name in ("pkg.mod", "pkg"):
            sys.modules.pop(name, None)


def test_write_tree_keeps_absolute_links_inside_the_root(tmp_path: Path) -> None:
    tree = FileTree()
    tree.add_file("/usr/lib/x/libz.so.1.2", b"\x7fELF", mode=0o755)
    tree.add_symlink("/usr/lib/x/libz.so.1", "/usr/lib/x/libz.so.1.2")
    tree.add_symlink("/lib", "usr/lib")
    tree.add_hardlink("/a/copy", "/usr/lib/x/libz.so.1.2")
    write_tree(tree, tmp_path)
    link = tmp_path / "usr/lib/x/libz.so.1"
    assert not Path(link.readlink()).is_absolute()
    assert link.resolve() == (tmp_path / "usr/lib/x/libz.so.1.2").resolve()
    assert (tmp_path / "lib/x/libz.so.1").read_bytes() == b"\x7fELF"
    assert (tmp_path / "a/copy").stat().st_ino == link.resolve().stat().st_ino


def test_an_image_without_its_interpreter_is_refused() -> None:
    with pytest.raises(DistillError, match=r"no /lib64/ld-linux-x86-64\.so\.2"), \
            image_interpreter(_tree(), python=HOST, arch="amd64"):
        pass


def test_another_architecture_without_qemu_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "arm64" if platform.machine() in ("x86_64", "amd64") else "amd64"
    monkeypatch.setenv("PATH", str(tmp_path))
    tree = FileTree()
    with pytest.raises(DistillError, match="qemu-user-static"), \
            image_interpreter(tree, python="3.11", arch=other):
        pass


def test_compile_tree_with_sources_leaves_the_tree_alone() -> None:
    tree = _tree()
    before = tree.digest()
    interpreter = ImageInterpreter(command=("/nonexistent",), python=HOST)
    assert compile_tree(tree, interpreter=interpreter, bytecode="sources") == 0
    assert tree.digest() == before


def test_sources_replaced_by_pycs_leave_the_md5sums() -> None:
    tree = FileTree()
    tree.add_file("/var/lib/dpkg/status.d/libpython3.11-stdlib.md5sums",
                  b"aa  usr/lib/python3.11/json/__init__.py\nbb  usr/lib/python3.11/json/x.so\n")
    tree.add_file("/var/lib/dpkg/status.d/libpython3.11-stdlib", b"Package: x\n")
    forget_md5sums(tree, {"/usr/lib/python3.11/json/__init__.py"})
    md5sums = tree.get("/var/lib/dpkg/status.d/libpython3.11-stdlib.md5sums")
    assert md5sums is not None and md5sums.data == b"bb  usr/lib/python3.11/json/x.so\n"


def test_a_link_to_a_source_keeps_its_link_and_gets_a_pyc_beside_it() -> None:
    tree = FileTree()
    tree.add_file("/etc/python/sitecustomize.py", SOURCE)
    tree.add_symlink("/usr/lib/python/sitecustomize.py", "/etc/python/sitecustomize.py")
    sources = python_sources(tree, under="/usr/lib")
    assert [(s.path, s.data) for s in sources] == [("/usr/lib/python/sitecustomize.py", SOURCE)]
    add_pycs(tree, sources, compile_command((sys.executable,), sources),
             python=HOST, bytecode="pyc")
    link = tree.get("/usr/lib/python/sitecustomize.py")
    assert link is not None and link.kind is Kind.SYMLINK
    assert f"/usr/lib/python/__pycache__/sitecustomize.{TAG}.pyc" in tree
    assert "/etc/python/sitecustomize.py" in tree


def test_a_link_to_a_source_made_sourceless_links_to_its_pyc(tmp_path: Path) -> None:
    tree = FileTree()
    tree.add_file("/usr/lib/python/_data_x86.py", SOURCE)
    tree.add_symlink("/usr/lib/python/_data_linux_x86.py", "_data_x86.py")
    sources = python_sources(tree)
    add_pycs(tree, sources, compile_command((sys.executable,), sources),
             python=HOST, bytecode="pyc")
    link = tree.get("/usr/lib/python/_data_linux_x86.pyc")
    assert link is not None and link.kind is Kind.SYMLINK and link.target == "_data_x86.pyc"
    assert {e.path for e in tree if e.kind is not Kind.DIR} == {
        "/usr/lib/python/_data_x86.pyc", "/usr/lib/python/_data_linux_x86.pyc"}
    write_tree(tree, tmp_path)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import _data_linux_x86 as m;"
            "print(m.VALUE)")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(tmp_path / "usr/lib/python")],
                          capture_output=True, text=True, check=False)
    assert done.stdout == "v1\n", done.stderr
