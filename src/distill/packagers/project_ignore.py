"""Which entries of a project folder are the project, and which are left out.

Left out at any depth: version-control folders, ``__pycache__`` and tool caches,
compiled bytecode, and virtual environments (a folder holding ``pyvenv.cfg``).
Left out only at the top (and ``*.egg-info`` also in the import root, where
setuptools writes it for a ``src`` layout): the project's own output, ``build``,
``dist``, ``*.egg-info``, and ``node_modules`` and editor settings. Everything
else is kept unless the project's ``.gitignore`` files (at any depth, as git reads
them) or its ``.dockerignore`` (as Docker reads it: every pattern relative to the
top) exclude it. Both use pathspec's gitignore matching; a ``.dockerignore``
pattern is anchored at the top before it is matched.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from distill.errors import ConfigError

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

ANYWHERE_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".tox", ".nox",
})
# A git worktree or submodule has a ``.git`` file pointing at the real repository.
VCS_FILES = frozenset({".git", ".hg"})
TOP_DIRS = frozenset({"build", "dist", "node_modules", ".idea", ".vscode"})
EXCLUDED_FILE_SUFFIXES = (".pyc", ".pyo")
_VENV_MARKER = "pyvenv.cfg"


@dataclass(frozen=True)
class ProjectEntry:
    """A kept entry: its path relative to the project (POSIX) and whether to descend into it."""

    relative: str
    is_dir: bool


def project_entries(root: Path, *, import_root: str = ".") -> Iterator[ProjectEntry]:
    """The project's kept folders and files, every folder before what it holds.

    A symbolic link, even to a folder, is an entry that is not descended into.
    Raises ConfigError when an ignore file cannot be read.
    """
    docker = _dockerignore(root)
    rules = _Rules(docker=docker, docker_negates=docker is not None and any(
        pattern.include is False for pattern in docker.patterns))
    for folder, dirs, files in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        rules.read_gitignore(Path(folder), relative)
        names = sorted(dirs + files)
        dirs.clear()
        for name in names:
            path = Path(folder) / name
            child = name if relative == "." else f"{relative}/{name}"
            is_dir = path.is_dir() and not path.is_symlink()
            if is_dir:
                if not _kept_dir(path, name, parent=relative, import_root=import_root):
                    continue
                keep, descend = rules.folder(child)
                if descend:
                    dirs.append(name)
                if keep:
                    yield ProjectEntry(child, is_dir=True)
            elif (name not in VCS_FILES and not name.endswith(EXCLUDED_FILE_SUFFIXES)
                  and not rules.ignored(child)):
                yield ProjectEntry(child, is_dir=False)


def _kept_dir(path: Path, name: str, *, parent: str, import_root: str) -> bool:
    """Whether a folder is the project's, by name and content (before the ignore files)."""
    if name in ANYWHERE_DIRS or (path / _VENV_MARKER).is_file():
        return False
    if parent == "." and name in TOP_DIRS:
        return False
    return not (parent in (".", import_root) and name.endswith(".egg-info"))


@dataclass
class _Rules:
    """The ignore files read so far: .gitignore layers (shallow first) and .dockerignore."""

    docker: GitIgnoreSpec | None
    docker_negates: bool
    git: list[GitIgnoreSpec] = field(default_factory=list)

    def read_gitignore(self, folder: Path, relative: str) -> None:
        path = folder / ".gitignore"
        lines = _read_lines(path)
        if lines is not None:
            base = "" if relative == "." else relative
            self.git.append(_spec(path, [_rebase(line, base) for line in lines]))

    def folder(self, relative: str) -> tuple[bool, bool]:
        """Whether to keep the folder ``relative``, and whether to look inside it.

        git never looks inside an ignored folder; Docker does when a ``!``
        pattern may keep something below it (the folder itself is then made
        only as the parent of what is kept).
        """
        path = relative + "/"
        if self._git_ignored(path):
            return False, False
        if self.docker is not None and self.docker.check_file(path).include:
            return False, self.docker_negates
        return True, True

    def ignored(self, relative: str) -> bool:
        """Whether the file ``relative`` is left out."""
        if self.docker is not None and self.docker.check_file(relative).include:
            return True
        return self._git_ignored(relative)

    def _git_ignored(self, path: str) -> bool:
        verdict = None
        for spec in self.git:
            include = spec.check_file(path).include
            if include is not None:
                verdict = include
        return bool(verdict)


def _spec(path: Path, patterns: list[str]) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec  # ~12 ms: only for a project with ignore files

    try:
        return GitIgnoreSpec.from_lines(patterns)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _read_lines(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _rebase(line: str, base: str) -> str:
    """A pattern of the .gitignore in ``base`` as one of a .gitignore at the top."""
    if not base or not line.strip() or line.startswith("#"):
        return line
    negate, body = ("!", line[1:]) if line.startswith("!") else ("", line)
    if not body.strip():
        return line  # not a pattern; pathspec reports it
    # A slash at the start or in the middle anchors a pattern to its file's folder;
    # otherwise it matches at any depth below that folder.
    anchored = "/" in body.rstrip().rstrip("/")
    return f"{negate}/{base}/{body.lstrip('/')}" if anchored else f"{negate}/{base}/**/{body}"


def _dockerignore(root: Path) -> GitIgnoreSpec | None:
    path = root / ".dockerignore"
    lines = _read_lines(path)
    return None if lines is None else _spec(path, [_anchored(line) for line in lines])


def _anchored(line: str) -> str:
    """A .dockerignore line as a gitignore pattern: cleaned, relative to the top."""
    text = line.strip()
    if not text or text.startswith("#"):
        return ""
    negate, body = ("!", text[1:].strip()) if text.startswith("!") else ("", text)
    body = posixpath.normpath(body).lstrip("/")
    return "" if body in ("", ".") else f"{negate}/{body}"
