"""An in-memory model of a root file system, the input of a layer.

Paths are absolute POSIX paths without a trailing slash (``/usr/bin/env``);
the root itself is implicit. Adding an entry creates missing parent
directories (0755, root-owned). Iteration is in sorted path order, which is the
order layers are written in.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from distill.errors import FormatError

_MAX_SYMLINK_HOPS = 40


class Kind(enum.Enum):
    """What an entry is."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


@dataclass(frozen=True)
class Entry:
    """One file, folder or link.

    ``mode`` holds the permission bits including setuid, setgid and sticky
    (``0o7777`` at most). ``data`` is set for files only; ``target`` for
    symlinks (the link text) and hard links (the absolute path linked to).
    """

    path: str
    kind: Kind
    mode: int
    uid: int = 0
    gid: int = 0
    data: bytes = b""
    target: str = ""

    @property
    def size(self) -> int:
        """Size in bytes of a file's contents; 0 for anything else."""
        return len(self.data) if self.kind is Kind.FILE else 0

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (see :func:`entry_from_json`)."""
        return {"path": self.path, "kind": self.kind.value, "mode": self.mode, "uid": self.uid,
                "gid": self.gid, "data": base64.b64encode(self.data).decode(),
                "target": self.target}


def entry_from_json(document: dict[str, Any]) -> Entry:
    """The entry :meth:`Entry.to_json` wrote."""
    return Entry(document["path"], Kind(document["kind"]), document["mode"], document["uid"],
                 document["gid"], data=base64.b64decode(document["data"]),
                 target=document["target"])


def normalize(path: str) -> str:
    """Return ``path`` as an absolute, normalized POSIX path ('/' for the root)."""
    if not path:
        raise FormatError("empty path in file tree")
    normalized = posixpath.normpath("/" + path.lstrip("/"))
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return normalized


class FileTree:
    """A mutable set of entries keyed by path; the last write of a path wins."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and normalize(path) in self._entries

    def __iter__(self) -> Iterator[Entry]:
        for path in sorted(self._entries):
            yield self._entries[path]

    def get(self, path: str) -> Entry | None:
        """The entry at ``path``, or None."""
        return self._entries.get(normalize(path))

    def paths(self) -> list[str]:
        """All paths, sorted."""
        return sorted(self._entries)

    def add(self, entry: Entry) -> Entry:
        """Add or replace ``entry`` (its path is normalized) and create its parents."""
        path = normalize(entry.path)
        if path == "/":
            raise FormatError("the root folder cannot be an entry")
        entry = replace(entry, path=path)
        self._ensure_parents(path)
        self._entries[path] = entry
        return entry

    def add_file(
        self, path: str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0
    ) -> Entry:
        """Add a regular file."""
        return self.add(Entry(path, Kind.FILE, mode, uid, gid, data=data))

    def add_dir(self, path: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:
        """Add a folder (or change the mode and owner of an existing one)."""
        return self.add(Entry(path, Kind.DIR, mode, uid, gid))

    def add_symlink(self, path: str, target: str, *, uid: int = 0, gid: int = 0) -> Entry:
        """Add a symbolic link whose text is ``target``."""
        return self.add(Entry(path, Kind.SYMLINK, 0o777, uid, gid, target=target))

    def add_hardlink(self, path: str, target: str) -> Entry:
        """Add a hard link to the existing file at ``target``."""
        source = self.get(target)
        if source is None or source.kind is not Kind.FILE:
            raise FormatError(f"hard link {path} points to {target}, which is not a file")
        return self.add(
            Entry(path, Kind.HARDLINK, source.mode, source.uid, source.gid,
                  target=normalize(target))
        )

    def remove(self, path: str) -> None:
        """Remove ``path`` and, for a folder, everything below it."""
        path = normalize(path)
        prefix = path.rstrip("/") + "/"
        for key in [k for k in self._entries if k == path or k.startswith(prefix)]:
            del self._entries[key]

    def update(self, other: FileTree) -> None:
        """Add every entry of ``other``, replacing entries at the same paths."""
        for entry in other:
            self.add(entry)

    def digest(self) -> str:
        """A SHA-256 over every entry's metadata and contents, in path order."""
        h = hashlib.sha256()
        for e in self:
            h.update(
                f"{e.path}\0{e.kind.value}\0{e.mode:o}\0{e.uid}\0{e.gid}\0{e.target}\0{e.size}\0"
                .encode("utf-8", "surrogateescape")
            )
            if e.kind is Kind.FILE:
                h.update(e.data)
        return h.hexdigest()

    def resolve(self, path: str) -> str | None:
        """Follow symbolic links in every component of ``path`` as the kernel would.

        Returns the normalized path of the entry finally reached, or None when a
        component is missing, a link loops, or a non-folder is used as a folder.
        """
        pending = [part for part in normalize(path).split("/") if part]
        current = "/"
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                current = posixpath.dirname(current)
                continue
            if current != "/" and self._kind(current) is not Kind.DIR:
                return None
            candidate = posixpath.join(current, part)
            entry = self._entries.get(candidate)
            if entry is None:
                return None
            if entry.kind is Kind.SYMLINK:
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    return None
                base = "/" if entry.target.startswith("/") else current
                pending = [p for p in entry.target.split("/") if p and p != "."] + pending
                current = base
                continue
            current = candidate
        return current

    def _kind(self, path: str) -> Kind | None:
        entry = self._entries.get(path)
        return entry.kind if entry is not None else None

    def _ensure_parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        missing: list[str] = []
        while parent != "/" and parent not in self._entries:
            missing.append(parent)
            parent = posixpath.dirname(parent)
        for folder in reversed(missing):
            self._entries[folder] = Entry(folder, Kind.DIR, 0o755)


class RecordingTree(FileTree):
    """A tree that remembers every entry added to it, in order (what a recipe replays)."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[Entry] = []

    def add(self, entry: Entry) -> Entry:
        added = super().add(entry)
        self.added.append(added)
        return added
