"""An image's own ``python3.X``, runnable on the build host.

The image's files are written to a folder and ``usr/bin/python3.X`` runs
through the image's dynamic loader with the image's libraries (through
``qemu-<cpu>-static`` for another architecture), so what it computes (pycs)
does not depend on the host's Python. A scratch folder serves one build step
(:func:`image_interpreter`); :func:`runtime_folder` keeps one in the cache for
the app packagers, which compile a few files on every code change.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from distill.errors import DistillError
from distill.fsutil import scratch_dir
from distill.rootfs.tree import FileTree, Kind

_LOADERS = {"amd64": "/lib64/ld-linux-x86-64.so.2", "arm64": "/lib/ld-linux-aarch64.so.1"}
_TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
_QEMU = {"amd64": "qemu-x86_64-static", "arm64": "qemu-aarch64-static"}
_HOST_ARCHS = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_COMPLETE = ".distill-complete"
RUNTIME_PREFIXES = ("/usr/lib/", "/lib", "/usr/bin/python", "/usr/lib64")
"""What running the interpreter needs of an image: libraries, the stdlib, the binary."""


@dataclass(frozen=True, kw_only=True)
class ImageInterpreter:
    """An image's ``python3.X`` written out and ready to run on this host."""

    command: tuple[str, ...]
    """The words that start it, before its own options."""
    python: str
    """Its version, ``3.11``."""


@contextmanager
def image_interpreter(tree: FileTree, *, python: str, arch: str) -> Iterator[ImageInterpreter]:
    """The ``python3.X`` of ``tree`` (the merged layers that hold it and its
    libraries), runnable while the context is open."""
    runner = _runner(arch)
    for needed in _needed(python, arch):
        if tree.resolve(needed) is None:
            raise DistillError(f"cannot compile Python bytecode: the image has no {needed}")
    with scratch_dir("distill-python-") as scratch:
        write_tree(tree, scratch)
        yield _interpreter(scratch, python=python, arch=arch, runner=runner)


def interpreter_in(root: Path, *, python: str, arch: str) -> ImageInterpreter:
    """The ``python3.X`` of the image files written at ``root``."""
    runner = _runner(arch)
    for needed in _needed(python, arch):
        if not (root / needed.lstrip("/")).exists():
            raise DistillError(f"cannot compile Python bytecode: the image has no {needed}")
    return _interpreter(root, python=python, arch=arch, runner=runner)


def is_complete(folder: Path) -> bool:
    """Whether :func:`runtime_folder` has written ``folder`` completely."""
    return (folder / _COMPLETE).exists()


def runtime_folder(folder: Path, make_tree: Callable[[], FileTree]) -> Path:
    """``folder`` holding the files of ``make_tree()``, written once: into a
    temporary folder renamed into place, so a folder seen is always complete."""
    if is_complete(folder):
        return folder
    import shutil  # with tempfile: only when the runtime is written, not on a warm rebuild
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        needed = FileTree()
        for entry in make_tree():
            if entry.path.startswith(RUNTIME_PREFIXES):
                needed.add(entry)
        write_tree(needed, scratch)
        (scratch / _COMPLETE).touch()
        try:
            scratch.rename(folder)
        except OSError:  # another build wrote it first
            if not is_complete(folder):
                raise
    except OSError as exc:
        raise DistillError(f"cannot write the image's Python into {folder}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _needed(python: str, arch: str) -> tuple[str, ...]:
    return (_LOADERS[arch], f"/usr/bin/python{python}", f"/usr/lib/python{python}/os.py")


def _interpreter(root: Path, *, python: str, arch: str,
                 runner: tuple[str, ...]) -> ImageInterpreter:
    libraries = ":".join(str(root / d / _TRIPLETS[arch]) for d in ("usr/lib", "lib"))
    return ImageInterpreter(
        command=(*runner, str(root) + _LOADERS[arch], "--library-path", libraries,
                 f"{root}/usr/bin/python{python}"),
        python=python)


def _runner(arch: str) -> tuple[str, ...]:
    if arch not in _LOADERS:
        raise DistillError(f"cannot compile Python bytecode for architecture {arch}")
    machine = os.uname().machine  # what platform.machine() reads, without its import
    if _HOST_ARCHS.get(machine.lower()) == arch:
        return ()
    import shutil

    qemu = shutil.which(_QEMU[arch])
    if qemu is None:
        raise DistillError(
            f"compiling the {arch} image's Python bytecode on this {machine} host "
            f"needs {_QEMU[arch]} (Debian package qemu-user-static), or python: "
            "{bytecode: sources} for an image without pycs")
    return (qemu,)


def write_tree(tree: FileTree, root: Path) -> None:
    """Write ``tree``'s folders, files and links below ``root``, absolute link
    targets made relative so nothing points out of ``root``."""
    links = []
    for entry in tree:
        path = root / entry.path.lstrip("/")
        if entry.kind is Kind.DIR:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind is Kind.FILE:
            path.write_bytes(entry.data)
            path.chmod(0o755 if entry.mode & 0o111 else 0o644)
        elif entry.kind is Kind.SYMLINK:
            target = entry.target
            if target.startswith("/"):
                target = os.path.relpath(root / target.lstrip("/"), path.parent)
            path.symlink_to(target)
        elif entry.kind is Kind.HARDLINK:
            links.append(entry)
    for entry in links:  # after the files they link to
        os.link(root / entry.target.lstrip("/"), root / entry.path.lstrip("/"))
