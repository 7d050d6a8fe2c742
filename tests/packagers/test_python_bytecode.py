"""An app's bytecode: unchecked-hash pycs compiled by the image's own Python (the real
bookworm .debs), the same bytes every time, loaded by an interpreter of that version."""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from distill.packagers.python_bytecode import Runtime, add_app_bytecode
from distill.rootfs.python_runtime import write_tree
from distill.rootfs.tree import FileTree, Kind
from support.debs import apt_download

pytestmark = pytest.mark.mirror

PYTHON = "3.11"
TAG = "cpython-311"
# What bookworm's python3.11 needs to start: the interpreter, its minimal stdlib, libc,
# zlib and expat.
RUNTIME_PACKAGES = ("python3.11-minimal", "libpython3.11-minimal", "libc6", "zlib1g",
                    "libexpat1")
SOURCE = b"VALUE = 'from source v1'\ndef boom():\n    raise RuntimeError('boom')\n"


@pytest.fixture(scope="module")
def runtime(host_mirror: str, tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    debs = apt_download(RUNTIME_PACKAGES, tmp_path_factory.mktemp("python-runtime"))
    by_sha = {hashlib.sha256(path.read_bytes()).hexdigest(): path for path in debs.values()}
    return Runtime(python=PYTHON, arch="amd64", debs=by_sha,
                   cache=tmp_path_factory.mktemp("distill-cache"))


def _tree() -> FileTree:
    tree = FileTree()
    tree.add_file("/app/pkg/__init__.py", b"")
    tree.add_file("/app/pkg/mod.py", SOURCE)
    tree.add_file("/app/pkg/broken.py", b"def nope(:\n")
    tree.add_file("/elsewhere/other.py", b"X = 1\n")
    return tree


def test_pycs_are_unchecked_hash_beside_the_sources_and_reproducible(runtime: Runtime) -> None:
    first, second = _tree(), _tree()
    assert add_app_bytecode(first, runtime=runtime, under="/app") == 2
    add_app_bytecode(second, runtime=runtime, under="/app")
    assert first.digest() == second.digest()
    pyc = first.get(f"/app/pkg/__pycache__/mod.{TAG}.pyc")
    assert pyc is not None and pyc.kind is Kind.FILE and pyc.mode == 0o644
    assert int.from_bytes(pyc.data[4:8], "little") == 0b01  # hash-based, not checked
    assert pyc.data[8:16] == importlib.util.source_hash(SOURCE)
    assert "/app/pkg/mod.py" in first
    assert first.get(f"/app/pkg/__pycache__/broken.{TAG}.pyc") is None
    assert first.get(f"/elsewhere/__pycache__/other.{TAG}.pyc") is None


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="loads a Python 3.11 pyc")
def test_the_pyc_is_the_one_loaded_under_the_image_path(runtime: Runtime, tmp_path: Path) -> None:
    tree = _tree()
    add_app_bytecode(tree, runtime=runtime, under="/app")
    write_tree(tree, tmp_path)
    # Unchecked: the pyc wins over a changed source, which proves it is the one loaded.
    (tmp_path / "app/pkg/mod.py").write_text("VALUE = 'from source v2'\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import pkg.mod as m; print(m.VALUE);"
            "m.boom()")
    result = subprocess.run([sys.executable, "-I", "-B", "-c", code, str(tmp_path / "app")],
                            capture_output=True, text=True, check=False)
    assert result.stdout == "from source v1\n"
    assert "RuntimeError: boom" in result.stderr
    pyc = tree.get(f"/app/pkg/__pycache__/mod.{TAG}.pyc")
    assert pyc is not None and marshal.loads(pyc.data[16:]).co_filename == "/app/pkg/mod.py"


def test_sources_leaves_the_layer_without_pycs_and_keys_no_compiler(runtime: Runtime) -> None:
    sources = Runtime(python=PYTHON, arch="amd64", debs=runtime.debs, bytecode="sources",
                      cache=runtime.cache)
    tree = _tree()
    before = tree.digest()
    assert add_app_bytecode(tree, runtime=sources, under="/app") == 0
    assert tree.digest() == before
    assert sources.key() is None and runtime.key() == sorted(runtime.debs)
    assert "sources" in sources.note() and PYTHON in runtime.note()


def test_nothing_below_the_folder_is_no_work(runtime: Runtime) -> None:
    tree = _tree()
    assert add_app_bytecode(tree, runtime=runtime, under="/nothing-here") == 0


def test_the_runtime_is_unpacked_once_into_the_cache(runtime: Runtime) -> None:
    add_app_bytecode(_tree(), runtime=runtime, under="/app")
    folders = list((runtime.cache / "python-runtimes").iterdir())
    assert len(folders) == 1 and (folders[0] / "usr/bin/python3.11").is_file()
    assert not (folders[0] / "usr/share").exists()  # only what running it needs
    marker = folders[0] / "usr/lib/python3.11/os.py"
    before = marker.stat().st_ino
    add_app_bytecode(_tree(), runtime=runtime, under="/app")
    assert list((runtime.cache / "python-runtimes").iterdir()) == folders
    assert marker.stat().st_ino == before
