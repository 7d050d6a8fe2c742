"""Bytecode of a Python app's layers, compiled by the image's own interpreter.

The python3 flavor's .debs (the runtime) are unpacked once into the cache
(``python-runtimes/``, the interpreter, its libraries and stdlib) and its
``python3.X`` compiles the layer's ``.py`` files (see
:mod:`distill.rootfs.python_bytecode`): unchecked-hash pycs in ``__pycache__``
beside the sources, so the app's own tracebacks keep their lines. The same
.debs give the same pycs on any machine, whatever Python the host has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distill.layers.fingerprint import cache_key
from distill.rootfs.python_bytecode import compile_tree
from distill.rootfs.python_runtime import interpreter_in, is_complete, runtime_folder
from distill.rootfs.tree import FileTree

if TYPE_CHECKING:  # a warm rebuild compiles without the configuration model (pydantic)
    from distill.config.python_settings import Bytecode


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """The image's Python: its version, architecture and the .debs that hold it."""

    python: str
    arch: str
    cache: Path
    """distill's cache root, where the unpacked runtime is kept."""
    debs: Mapping[str, Path] = field(default_factory=dict)
    """SHA-256 -> .deb of every package below the app (the flavor chain's)."""
    bytecode: Bytecode = "pyc"

    @property
    def compiles(self) -> bool:
        """Whether the app's layers get pycs (``sources`` leaves them out)."""
        return self.bytecode != "sources" and bool(self.debs)

    def key(self) -> list[str] | None:
        """What identifies the compiler in a layer's cache key."""
        return sorted(self.debs) if self.compiles else None

    def note(self) -> str:
        """For the layer's history."""
        if not self.compiles:
            return "no bytecode (python: {bytecode: sources})"
        return f"bytecode by the image's Python {self.python}"

    @property
    def folder(self) -> Path:
        """Where the interpreter is unpacked in the cache."""
        return self.cache / "python-runtimes" / cache_key(debs=sorted(self.debs), arch=self.arch)

    def unpacked(self) -> bool:
        """Whether :attr:`folder` holds the whole interpreter already."""
        return is_complete(self.folder)

    def to_json(self) -> dict[str, Any]:
        """The runtime as a JSON object (see :func:`runtime_from_json`)."""
        return {"python": self.python, "arch": self.arch, "cache": str(self.cache),
                "debs": {sha: str(path) for sha, path in sorted(self.debs.items())},
                "bytecode": self.bytecode}


def runtime_from_json(document: dict[str, Any]) -> Runtime:
    """The runtime :meth:`Runtime.to_json` wrote."""
    return Runtime(python=document["python"], arch=document["arch"],
                   cache=Path(document["cache"]),
                   debs={sha: Path(path) for sha, path in document["debs"].items()},
                   bytecode=document["bytecode"])


def add_app_bytecode(tree: FileTree, *, runtime: Runtime, under: str) -> int:
    """Add pycs beside every ``.py`` below ``under``; how many (0 when not compiling)."""
    if not runtime.compiles:
        return 0
    root = runtime_folder(runtime.folder, lambda: _runtime_tree(runtime))
    interpreter = interpreter_in(root, python=runtime.python, arch=runtime.arch)
    return compile_tree(tree, interpreter=interpreter, bytecode="both", under=under)


def _runtime_tree(runtime: Runtime) -> FileTree:
    # imported here: unpacking .debs needs the flavors and python-debian, which a warm
    # rebuild with the runtime already in the cache does not load
    from distill.flavors.flavor_tree import lower_tree

    return lower_tree(sorted(runtime.debs.values()))
