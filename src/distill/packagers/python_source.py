"""The project's own layer: its files under ``app.dst``, importable from anywhere.

The project is installed natively, without running its build backend: its
folder is copied to ``dst`` (without VCS folders, virtual environments, caches,
its top-level build output and what its .gitignore and .dockerignore exclude),
a ``.pth`` file in dist-packages puts its import root on ``sys.path``, and
when ``pyproject.toml`` has a ``[project]`` table a dist-info (METADATA,
entry_points.txt, RECORD) and its console scripts are written, so
``importlib.metadata`` sees the project as it sees its dependencies.
"""

from __future__ import annotations

import posixpath
import stat
from pathlib import Path

from distill.errors import ConfigError
from distill.packagers.project_ignore import project_entries
from distill.packagers.python_install import (
    INSTALLER,
    Installed,
    console_scripts,
    record_for,
    site_dir,
)
from distill.packagers.python_project import Project
from distill.rootfs.tree import FileTree


def project_files(project: Project, *, dst: str) -> FileTree:
    """The project folder's files under ``dst`` (root-owned, read-only to others).

    What is left out (VCS folders, caches, virtual environments, the project's
    own build output, what its .gitignore and .dockerignore exclude) is decided
    by :func:`~distill.packagers.project_ignore.project_entries`.
    """
    tree = FileTree()
    tree.add_dir(dst)
    for entry in project_entries(project.root, import_root=project.import_root):
        path = posixpath.join(dst, entry.relative)
        if entry.is_dir:
            tree.add_dir(path)
        else:
            _add_file(tree, project.root / entry.relative, path)
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
