"""The files layer as plain data: host copies plus the entries the build adds itself.

A :class:`FilesRecipe` is what ``files:``, ``paths:`` and the accounts of
distill.yaml turn into, with no reference to the configuration model: the
copies from the host (read when the tree is made) and, in order, every entry
the build adds itself (``paths:``, ``/etc/passwd``, homes). Both a full build
and a warm rebuild (:mod:`distill.assembly.warm`) make the layer's tree from
it, so the two give the same tree by construction, and a warm rebuild needs
neither the configuration nor pydantic to re-read changed files.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.errors import ConfigError
from distill.layers.fingerprint import cache_key
from distill.layers.store import LayerStore
from distill.oci.model import Layer
from distill.rootfs.tree import Entry, FileTree, entry_from_json


@dataclass(frozen=True)
class HostCopy:
    """One ``files:`` item: a host file or folder copied to ``dst`` in the image."""

    src: Path
    dst: str
    mode: int | None = None
    """The permission bits of every file copied; None keeps 0755/0644 by the host's x bit."""
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class FilesRecipe:
    """The files layer's inputs: host copies first, then the generated entries in order."""

    copies: tuple[HostCopy, ...]
    entries: tuple[Entry, ...]

    def tree(self) -> FileTree:
        """The layer's tree; host files are read now."""
        tree = FileTree()
        for index, copy in enumerate(self.copies):
            add_copy(tree, copy, where=f"files[{index}]")
        for entry in self.entries:
            tree.add(entry)
        return tree

    def to_json(self) -> dict[str, Any]:
        """The recipe as a JSON document (see :func:`recipe_from_json`)."""
        return {
            "copies": [{"src": str(c.src), "dst": c.dst, "mode": c.mode, "uid": c.uid,
                        "gid": c.gid} for c in self.copies],
            "entries": [entry.to_json() for entry in self.entries],
        }


def recipe_from_json(document: dict[str, Any]) -> FilesRecipe:
    """The recipe :meth:`FilesRecipe.to_json` wrote."""
    return FilesRecipe(
        copies=tuple(HostCopy(src=Path(c["src"]), dst=c["dst"], mode=c["mode"], uid=c["uid"],
                              gid=c["gid"]) for c in document["copies"]),
        entries=tuple(entry_from_json(item) for item in document["entries"]),
    )


def add_copy(tree: FileTree, copy: HostCopy, *, where: str) -> None:
    """Copy the host file or folder ``copy.src`` into ``tree``; ``where`` names it in errors."""
    src = copy.src
    try:
        info = src.lstat()
    except FileNotFoundError as exc:
        raise ConfigError(f"{where}.src: {src}: no such file or folder") from exc
    except OSError as exc:
        raise ConfigError(f"{where}.src: {src}: {exc.strerror}") from exc
    dst = copy.dst
    if stat.S_ISDIR(info.st_mode):
        _add_folder(tree, src, dst.rstrip("/") or "/", copy)
        return
    if dst.endswith("/"):
        dst = posixpath.join(dst, src.name)
    _add_one(tree, src, info, dst, copy)


def _add_folder(tree: FileTree, src: Path, dst: str, copy: HostCopy) -> None:
    if dst != "/":
        tree.add_dir(dst, mode=copy.mode or 0o755, uid=copy.uid, gid=copy.gid)
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(root) / name
            relative = path.relative_to(src).as_posix()
            _add_one(tree, path, path.lstat(), posixpath.join(dst, relative), copy)


def _add_one(tree: FileTree, src: Path, info: os.stat_result, dst: str, copy: HostCopy) -> None:
    if stat.S_ISLNK(info.st_mode):
        tree.add_symlink(dst, str(src.readlink()), uid=copy.uid, gid=copy.gid)
    elif stat.S_ISDIR(info.st_mode):
        tree.add_dir(dst, mode=stat.S_IMODE(info.st_mode), uid=copy.uid, gid=copy.gid)
    elif stat.S_ISREG(info.st_mode):
        mode = copy.mode
        if mode is None:
            mode = 0o755 if info.st_mode & 0o111 else 0o644
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {src}: {exc.strerror}") from exc
        tree.add_file(dst, data, mode=mode, uid=copy.uid, gid=copy.gid)
    else:
        raise ConfigError(f"{src} is not a regular file, folder or symlink")


def recipe_layer(recipe: FilesRecipe, *, store: LayerStore, epoch: int) -> Layer | None:
    """The files layer made from ``recipe`` (cached by its tree's digest); None when empty."""
    keyed = recipe_tree(recipe, epoch=epoch)
    if keyed is None:
        return None
    tree, key = keyed
    return store.build(key, lambda: tree, mtime=epoch)


def recipe_tree(recipe: FilesRecipe, *, epoch: int) -> tuple[FileTree, str] | None:
    """The files layer's tree (host files read now) and its layer-store key; None when empty."""
    tree = recipe.tree()
    if not len(tree):
        return None
    return tree, cache_key(kind="app", tree=tree.digest(), mtime=epoch)
