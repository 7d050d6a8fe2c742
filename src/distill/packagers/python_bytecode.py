"""Deterministic bytecode (unchecked-hash pycs) compiled by an interpreter of the image's version.

A pyc is only valid for one Python minor version, so it is compiled by the
host's Python when its version is the image's, else by a ``python3.X`` found on
PATH; when neither exists the pycs are skipped (the image still runs, compiling
in memory at start-up). Compilation runs in a fresh, isolated interpreter
(``-I``), since marshal's output depends on the compiling process's state; the
sources go in and the pycs come out through pipes, named by their image path
so tracebacks show it.
"""

from __future__ import annotations

import functools
import posixpath
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass

from distill.errors import DistillError
from distill.rootfs.tree import Entry, FileTree, Kind

_DRIVER = r"""
import importlib.util, marshal, struct, sys
data = sys.stdin.buffer.read()
out = sys.stdout.buffer
offset = 0
while offset < len(data):
    n_name, n_src = struct.unpack_from("<II", data, offset)
    offset += 8
    name = data[offset:offset + n_name].decode(); offset += n_name
    source = data[offset:offset + n_src]; offset += n_src
    try:
        code = compile(source, name, "exec", dont_inherit=True)
        pyc = (importlib.util.MAGIC_NUMBER + struct.pack("<I", 0b01)
               + importlib.util.source_hash(source) + marshal.dumps(code))
    except (SyntaxError, ValueError):
        pyc = b""
    out.write(struct.pack("<I", len(pyc)) + pyc)
"""


@dataclass(frozen=True)
class Interpreter:
    """A host Python that compiles pycs for the image."""

    path: str
    version: str
    """Its full ``sys.version`` (pyc bytes may differ between patch releases)."""


def interpreter_for(python: str) -> Interpreter | None:
    """A host interpreter of version ``python`` (``3.11``), or None."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == python:
        return Interpreter(path=sys.executable, version=sys.version)
    return _probe(shutil.which(f"python{python}"), python)


@functools.cache
def _probe(candidate: str | None, python: str) -> Interpreter | None:
    if candidate is None:
        return None
    try:
        result = subprocess.run(
            [candidate, "-I", "-c",
             "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.version)"],
            capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    short, _, full = result.stdout.partition("\n")
    if result.returncode != 0 or short.strip() != python:
        return None
    return Interpreter(path=candidate, version=full.strip())


def add_bytecode(tree: FileTree, *, interpreter: Interpreter, python: str, under: str = "/") -> int:
    """Add ``__pycache__/X.cpython-3Y.pyc`` beside every ``.py`` file below ``under``.

    Returns how many pycs were added; files that do not compile get none.
    """
    sources = [e for e in tree if e.kind is Kind.FILE and e.path.endswith(".py")
               and (under == "/" or e.path.startswith(under.rstrip("/") + "/"))]
    if not sources:
        return 0
    tag = "cpython-" + python.replace(".", "")
    pycs = _compile(interpreter.path, sources)
    count = 0
    for entry, pyc in zip(sources, pycs, strict=True):
        if pyc:
            folder, name = posixpath.split(entry.path)
            tree.add_file(f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc", pyc)
            count += 1
    return count


def _compile(interpreter: str, sources: list[Entry]) -> list[bytes]:
    payload = b"".join(
        struct.pack("<II", len(e.path.encode()), len(e.data)) + e.path.encode() + e.data
        for e in sources)
    try:
        result = subprocess.run([interpreter, "-I", "-c", _DRIVER], input=payload,
                                capture_output=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DistillError(f"cannot compile bytecode with {interpreter}: {exc}") from exc
    if result.returncode != 0:
        last = result.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise DistillError(f"compiling bytecode with {interpreter} failed: "
                           f"{last[0] if last else 'exit ' + str(result.returncode)}")
    return _split(result.stdout, len(sources))


def _split(data: bytes, count: int) -> list[bytes]:
    pycs, offset = [], 0
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, offset)
        offset += 4
        pycs.append(data[offset:offset + size])
        offset += size
    if offset != len(data):
        raise DistillError("the bytecode compiler's output was cut short or too long")
    return pycs
