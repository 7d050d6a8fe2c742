"""The project's own layer: its files under ``app.dst``, importable from anywhere.

The project is installed natively, without running its build backend: its
folder is copied to ``dst`` (without VCS folders, virtual environments, caches,
its top-level build output and what its .gitignore and .dockerignore exclude),
a ``.pth`` file in dist-packages puts its import root on ``sys.path``, and
when ``pyproject.toml`` has a ``[project]`` table a dist-info (METADATA,
entry_points.txt, RECORD) and its console scripts are written, so
``importlib.metadata`` sees the project as it sees its dependencies.

The layer is made from a :class:`ProjectRecipe`, plain data with no reference
to the configuration model: the project's folder (read when the tree is made),
the metadata entries in order, and the interpreter that compiles the pycs. A
full build and a warm rebuild (:mod:`distill.assembly.warm_python`) both make
the layer from it, so the two give the same bytes by construction.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distill.errors import ConfigError
from distill.layers.fingerprint import cache_key
from distill.layers.store import LayerStore, StagedLayer
from distill.oci.model import Layer
from distill.packagers.project_ignore import project_entries
from distill.packagers.python_bytecode import Runtime, add_app_bytecode, runtime_from_json
from distill.progress import SILENT, Progress
from distill.rootfs.tree import Entry, FileTree, RecordingTree, entry_from_json

if TYPE_CHECKING:
    from distill.packagers.python_project import Project


@dataclass(frozen=True, kw_only=True)
class ProjectRecipe:
    """The project layer's inputs: the folder, the metadata entries, the compiler."""

    root: Path
    import_root: str
    """``src`` or ``.`` (see :attr:`Project.import_root`)."""
    dst: str
    metadata: tuple[Entry, ...]
    """What :func:`add_project_metadata` adds, in order."""
    runtime: Runtime
    epoch: int
    """SOURCE_DATE_EPOCH: the mtime of every entry."""

    def tree(self) -> FileTree:
        """The layer's tree before its pycs; the project's files are read now."""
        tree = _folder_files(self.root, import_root=self.import_root, dst=self.dst)
        for entry in self.metadata:
            tree.add(entry)
        return tree

    def to_json(self) -> dict[str, Any]:
        """The recipe as a JSON object (see :func:`recipe_from_json`)."""
        return {"root": str(self.root), "import_root": self.import_root, "dst": self.dst,
                "metadata": [entry.to_json() for entry in self.metadata],
                "runtime": self.runtime.to_json(), "epoch": self.epoch}


def recipe_from_json(document: dict[str, Any]) -> ProjectRecipe:
    """The recipe :meth:`ProjectRecipe.to_json` wrote."""
    return ProjectRecipe(root=Path(document["root"]), import_root=document["import_root"],
                         dst=document["dst"],
                         metadata=tuple(entry_from_json(e) for e in document["metadata"]),
                         runtime=runtime_from_json(document["runtime"]),
                         epoch=int(document["epoch"]))


def project_recipe(project: Project, *, dst: str, runtime: Runtime, epoch: int) -> ProjectRecipe:
    """The recipe of ``project``'s layer under ``dst``."""
    metadata = RecordingTree()
    add_project_metadata(metadata, project, dst=dst, python=runtime.python)
    return ProjectRecipe(root=project.root, import_root=project.import_root, dst=dst,
                         metadata=tuple(metadata.added), runtime=runtime, epoch=epoch)


def project_layer(recipe: ProjectRecipe, *, store: LayerStore,
                  progress: Progress = SILENT) -> Layer:
    """The layer ``recipe`` makes, cached by its tree's digest (before the pycs) and the
    compiler, so an unchanged project is not compiled again."""
    key, make_tree = _keyed_tree(recipe)
    return store.build(key, make_tree, mtime=recipe.epoch, progress=progress)


def staged_project_layer(recipe: ProjectRecipe, *, store: LayerStore) -> Layer | StagedLayer:
    """:func:`project_layer` from the store, or else its tar staged beside the store for
    sinks that take tars, compressed later (:meth:`LayerStore.stage`)."""
    key, make_tree = _keyed_tree(recipe)
    hit = store.lookup(key)
    return hit if hit is not None else store.stage(key, make_tree(), mtime=recipe.epoch)


def _keyed_tree(recipe: ProjectRecipe) -> tuple[str, Callable[[], FileTree]]:
    """The layer's store key and what makes its tree (the project's files are read now,
    the pycs compiled only when the tree is made)."""
    tree = recipe.tree()
    runtime = recipe.runtime
    key = cache_key(kind="python-app", tree=tree.digest(), python=runtime.python,
                    compiler=runtime.key(), mtime=recipe.epoch)

    def make_tree() -> FileTree:
        add_app_bytecode(tree, runtime=runtime, under=recipe.dst)
        return tree

    return key, make_tree


def project_files(project: Project, *, dst: str) -> FileTree:
    """The project folder's files under ``dst`` (root-owned, read-only to others)."""
    return _folder_files(project.root, import_root=project.import_root, dst=dst)


def _folder_files(root: Path, *, import_root: str, dst: str) -> FileTree:
    """What is left out (VCS folders, caches, virtual environments, the project's own
    build output, what its .gitignore and .dockerignore exclude) is decided by
    :func:`~distill.packagers.project_ignore.project_entries`."""
    tree = FileTree()
    tree.add_dir(dst)
    for entry in project_entries(root, import_root=import_root):
        path = posixpath.join(dst, entry.relative)
        if entry.is_dir:
            tree.add_dir(path)
        else:
            _add_file(tree, root / entry.relative, path)
    return tree


def _add_file(tree: FileTree, source: Path, path: str) -> None:
    try:
        info = source.lstat()
        if stat.S_ISLNK(info.st_mode):
            tree.add_symlink(path, str(source.readlink()))
        elif stat.S_ISREG(info.st_mode):
            tree.add_file(path, source.read_bytes(),
                          mode=0o755 if info.st_mode & 0o111 else 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror}") from exc


def add_project_metadata(tree: FileTree, project: Project, *, dst: str, python: str) -> None:
    """The ``.pth`` file, and for a ``[project]`` its dist-info and console scripts."""
    # imported here: a warm rebuild replays the recorded entries and needs none of it
    from distill.packagers.python_install import (
        INSTALLER,
        Installed,
        console_scripts,
        record_for,
        site_dir,
    )

    site = site_dir(python)
    import_root = dst if project.import_root == "." else posixpath.join(dst, project.import_root)
    dist = project.name.replace("-", "_").replace(".", "_")
    tree.add_file(f"{site}/{dist}.pth", f"{import_root}\n".encode())
    if not project.has_metadata:
        return
    dist_info = f"{dist}-{project.version}.dist-info"
    entry_points = _entry_points(project)
    installed = [
        Installed(f"{site}/{dist_info}/METADATA", _metadata(project), 0o644),
        Installed(f"{site}/{dist_info}/INSTALLER", INSTALLER, 0o644),
        *([Installed(f"{site}/{dist_info}/entry_points.txt", entry_points, 0o644)]
          if entry_points else []),
        *console_scripts(entry_points),
    ]
    for item in installed:
        tree.add_file(item.path, item.data, mode=item.mode)
    tree.add_file(f"{site}/{dist_info}/RECORD",
                  record_for(installed, site=site, dist_info=dist_info))


def _metadata(project: Project) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {project.name}", f"Version: {project.version}"]
    if project.summary:
        lines.append(f"Summary: {project.summary.splitlines()[0]}")
    lines += [f"Requires-Dist: {requirement}" for requirement in project.requirements]
    return ("\n".join(lines) + "\n").encode()


def _entry_points(project: Project) -> bytes:
    if not project.scripts:
        return b""
    body = "".join(f"{name} = {target}\n" for name, target in project.scripts)
    return f"[console_scripts]\n{body}".encode()
