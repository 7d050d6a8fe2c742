"""The app layer: the user's files, paths and accounts from distill.yaml."""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from distill.config import Config, FileCopy, PathEntry
from distill.errors import ConfigError
from distill.rootfs.tree import FileTree


def app_tree(config: Config) -> FileTree:
    """The files and paths the configuration adds, in a tree of their own."""
    tree = FileTree()
    for index, copy in enumerate(config.files):
        _add_copy(tree, copy, where=f"files[{index}]")
    for entry in config.paths:
        _add_path(tree, entry)
    return tree


def _add_copy(tree: FileTree, copy: FileCopy, *, where: str) -> None:
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


def _add_folder(tree: FileTree, src: Path, dst: str, copy: FileCopy) -> None:
    if dst != "/":
        tree.add_dir(dst, mode=copy.mode_bits or 0o755, uid=copy.uid, gid=copy.gid)
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(root) / name
            relative = path.relative_to(src).as_posix()
            _add_one(tree, path, path.lstat(), posixpath.join(dst, relative), copy)


def _add_one(tree: FileTree, src: Path, info: os.stat_result, dst: str, copy: FileCopy) -> None:
    if stat.S_ISLNK(info.st_mode):
        tree.add_symlink(dst, str(src.readlink()), uid=copy.uid, gid=copy.gid)
    elif stat.S_ISDIR(info.st_mode):
        tree.add_dir(dst, mode=stat.S_IMODE(info.st_mode), uid=copy.uid, gid=copy.gid)
    elif stat.S_ISREG(info.st_mode):
        mode = copy.mode_bits
        if mode is None:
            mode = 0o755 if info.st_mode & 0o111 else 0o644
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {src}: {exc.strerror}") from exc
        tree.add_file(dst, data, mode=mode, uid=copy.uid, gid=copy.gid)
    else:
        raise ConfigError(f"{src} is not a regular file, folder or symlink")


def _add_path(tree: FileTree, entry: PathEntry) -> None:
    where = f"paths: {entry.path}"
    if not entry.path.startswith("/"):
        raise ConfigError(f"{where}: must be an absolute path in the image")
    if entry.type == "directory":
        tree.add_dir(entry.path, mode=entry.mode_bits or 0o755, uid=entry.uid, gid=entry.gid)
    elif entry.type == "file":
        data = (entry.content or "").encode()
        tree.add_file(entry.path, data, mode=entry.mode_bits or 0o644, uid=entry.uid,
                      gid=entry.gid)
    else:
        if not entry.target:
            raise ConfigError(f"{where}: a symlink needs a target")
        tree.add_symlink(entry.path, entry.target, uid=entry.uid, gid=entry.gid)
