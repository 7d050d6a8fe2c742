"""Reproducible bytecode compiled by the image's own Python interpreter.

A pyc is valid for one Python minor version, and its bytes (marshal's output)
may differ between patch releases, so the pycs of an image are compiled by the
interpreter the image carries (:mod:`distill.rootfs.python_runtime`). The same
.debs then give the same pycs on any machine.

Each pyc is an unchecked-hash pyc (PEP 552, flags 0b01): it carries the
source's hash but Python never checks it or the time stamp, and never writes
one back. Compilation runs in one fresh, isolated process (``-I -S``), since
marshal's output depends on the compiling process's state; the sources go in
and the pycs come out through pipes, named by their image path so tracebacks
show it.
"""

from __future__ import annotations

import posixpath
import struct
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING

from distill.errors import DistillError
from distill.rootfs.python_runtime import ImageInterpreter
from distill.rootfs.tree import Entry, FileTree, Kind

if TYPE_CHECKING:  # the configuration model (pydantic) is not needed to compile an app
    from distill.config.python_settings import Bytecode

DRIVER = r"""
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

def compile_command(command: Sequence[str], sources: Sequence[Entry]) -> list[bytes]:
    """The unchecked-hash pyc of each source (``b""`` for one that does not compile),
    compiled by the interpreter ``command`` in one isolated process."""
    payload = b"".join(
        struct.pack("<II", len(e.path.encode()), len(e.data)) + e.path.encode() + e.data
        for e in sources)
    try:
        result = subprocess.run([*command, "-I", "-S", "-c", DRIVER], input=payload,
                                capture_output=True, timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DistillError(f"cannot compile bytecode with {command[-1]}: {exc}") from exc
    if result.returncode != 0:
        last = result.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise DistillError(f"compiling bytecode with {command[-1]} failed: "
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


def python_sources(tree: FileTree, *, under: str = "/") -> list[Entry]:
    """The ``.py`` files of ``tree`` below ``under``; a link to one (Debian's
    ``sitecustomize.py`` links to a conffile in /etc) comes with its target's contents."""
    prefix = under.rstrip("/") + "/"
    sources = []
    for entry in tree:
        if not entry.path.endswith(".py") or not (under == "/" or entry.path.startswith(prefix)):
            continue
        if entry.kind is Kind.FILE:
            sources.append(entry)
        elif entry.kind is Kind.SYMLINK:
            target = tree.resolve(entry.path)
            found = tree.get(target) if target else None
            if found is not None and found.kind is Kind.FILE:
                sources.append(Entry(entry.path, Kind.SYMLINK, 0o644, data=found.data,
                                     target=found.path))
    return sources


def add_pycs(tree: FileTree, sources: Sequence[Entry], pycs: Sequence[bytes], *,
             python: str, bytecode: Bytecode) -> int:
    """Put each non-empty pyc in ``tree``: in ``__pycache__`` (``both``, and links), or
    in place of its source (``pyc``). Returns how many were added."""
    tag = "cpython-" + python.replace(".", "")
    sourceless = {e.path for e, pyc in zip(sources, pycs, strict=True)
                  if pyc and e.kind is Kind.FILE} if bytecode == "pyc" else set()
    count = 0
    for entry, pyc in zip(sources, pycs, strict=True):
        if not pyc:
            continue
        folder, name = posixpath.split(entry.path)
        if entry.path in sourceless:
            tree.remove(entry.path)
            tree.add_file(f"{entry.path}c", pyc, mode=0o644, uid=entry.uid, gid=entry.gid)
        elif entry.target in sourceless:
            _relink_sourceless(tree, entry.path)
        else:
            tree.add_file(f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc", pyc,
                          uid=entry.uid, gid=entry.gid)
        count += 1
    return count


def _relink_sourceless(tree: FileTree, path: str) -> None:
    """``A.py -> B.py`` whose target became ``B.pyc``: now ``A.pyc -> B.pyc``."""
    link = tree.get(path)
    if link is None or not link.target.endswith(".py"):
        return
    tree.remove(path)
    tree.add_symlink(f"{path}c", f"{link.target}c", uid=link.uid, gid=link.gid)


def compile_tree(tree: FileTree, *, interpreter: ImageInterpreter, bytecode: Bytecode,
                 under: str = "/") -> int:
    """Compile every ``.py`` of ``tree`` below ``under`` as ``bytecode`` says; the count.

    Sources replaced by their pycs leave the packages' md5sums too, so scanners
    do not look for files the image lacks."""
    if bytecode == "sources":
        return 0
    sources = python_sources(tree, under=under)
    if not sources:
        return 0
    pycs = compile_command(interpreter.command, sources)
    count = add_pycs(tree, sources, pycs, python=interpreter.python, bytecode=bytecode)
    forget_md5sums(tree, {e.path for e in sources if e.path not in tree})
    return count


def forget_md5sums(tree: FileTree, removed: set[str]) -> None:
    """Drop the lines of ``removed`` files from every ``status.d/*.md5sums`` in ``tree``."""
    if not removed:
        return
    from distill.rootfs.packages import STATUS_DIR  # python-debian: not for an app's pycs

    for entry in tree:
        if not (entry.kind is Kind.FILE and entry.path.startswith(STATUS_DIR + "/")
                and entry.path.endswith(".md5sums")):
            continue
        lines = entry.data.decode().splitlines(keepends=True)
        kept = [line for line in lines if "/" + line.partition("  ")[2].rstrip("\n")
                not in removed]
        if len(kept) != len(lines):
            tree.add_file(entry.path, "".join(kept).encode(), mode=entry.mode)
