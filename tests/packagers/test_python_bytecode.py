"""Bytecode: unchecked-hash pycs, the same bytes every time, used by the interpreter."""

from __future__ import annotations

import importlib.util
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from distill.packagers.python_bytecode import add_bytecode, interpreter_for
from distill.rootfs.tree import FileTree, Kind

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
TAG = f"cpython-{sys.version_info.major}{sys.version_info.minor}"


def _tree() -> FileTree:
    tree = FileTree()
    tree.add_file("/app/pkg/__init__.py", b"")
    tree.add_file("/app/pkg/mod.py", b"VALUE = 'from source v1'\n"
                                     b"def boom():\n    raise RuntimeError('boom')\n")
    tree.add_file("/app/pkg/broken.py", b"def nope(:\n")
    tree.add_file("/elsewhere/other.py", b"X = 1\n")
    return tree


def test_host_interpreter_is_used_only_for_its_own_version() -> None:
    found = interpreter_for(HOST)
    assert found is not None and found.path == sys.executable
    assert interpreter_for("2.7") is None


def test_pycs_are_unchecked_hash_and_reproducible() -> None:
    interpreter = interpreter_for(HOST)
    assert interpreter is not None
    first, second = _tree(), _tree()
    assert add_bytecode(first, interpreter=interpreter, python=HOST, under="/app") == 2
    add_bytecode(second, interpreter=interpreter, python=HOST, under="/app")
    assert first.digest() == second.digest()
    pyc = first.get(f"/app/pkg/__pycache__/mod.{TAG}.pyc")
    assert pyc is not None and pyc.kind is Kind.FILE and pyc.mode == 0o644
    assert pyc.data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc.data[4:8], "little") == 0b01  # hash-based, not checked
    assert first.get(f"/app/pkg/__pycache__/broken.{TAG}.pyc") is None
    assert first.get(f"/elsewhere/__pycache__/other.{TAG}.pyc") is None


def test_interpreter_runs_the_pyc_compiled_under_the_image_path(tmp_path: Path) -> None:
    interpreter = interpreter_for(HOST)
    assert interpreter is not None
    tree = _tree()
    add_bytecode(tree, interpreter=interpreter, python=HOST, under="/app")
    for entry in tree:
        if entry.kind is Kind.FILE:
            target = tmp_path / entry.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(entry.data)
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


@pytest.mark.parametrize("under", ["/nothing-here"])
def test_no_sources_no_work(under: str) -> None:
    interpreter = interpreter_for(HOST)
    assert interpreter is not None
    assert add_bytecode(_tree(), interpreter=interpreter, python=HOST, under=under) == 0
