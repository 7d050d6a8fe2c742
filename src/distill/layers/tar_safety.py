"""Refusing layer tars that would write outside the image's root.

A base image distill did not build is copied into every output, so its layers
must not hold what a careless unpacker turns into a write on the host: an
absolute path, a ``..`` component, a hard link whose target leaves the root, or
a path that goes through a symbolic link made by an earlier entry of the same
layer or by a lower layer (``etc -> /tmp`` then ``etc/passwd``). Tools that make
layers (Docker, BuildKit, umoci, distill) record real paths, so none of these
appear in an honest image.

:func:`check_layer_tar` walks one layer's tar stream, given the symbolic links
that the layers below it leave, and returns the links this layer leaves for the
next. Whiteouts (``.wh.NAME``, ``.wh..wh..opq``) remove links as they remove
files.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import IO

from distill.errors import FormatError

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


class UnsafeEntry(FormatError):
    """A layer tar entry that would write outside the root; ``entry`` is its name."""

    def __init__(self, entry: str, reason: str) -> None:
        super().__init__(f"entry {entry!r} {reason}")
        self.entry = entry
        self.reason = reason


def check_layer_tar(stream: IO[bytes], *, symlinks: Iterable[str] = ()) -> frozenset[str]:
    """Raise UnsafeEntry for the first unsafe entry of the tar ``stream``.

    ``symlinks`` are the root-relative paths (``usr/lib64``) that are symbolic
    links after the lower layers; the result is the same set after this layer.
    Raises FormatError when the stream is not a readable tar.
    """
    links = set(symlinks)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                _check_member(member, links)
    except tarfile.TarError as exc:
        raise FormatError(f"not a readable tar: {exc}") from exc
    return frozenset(links)


def _check_member(member: tarfile.TarInfo, links: set[str]) -> None:
    path = _inside(member.name, member.name)
    _not_through_link(member.name, path, links)
    name = path.name
    if name == _OPAQUE:
        _forget(links, path.parent, keep_self=True)
        return
    if name.startswith(_WHITEOUT):
        _forget(links, path.parent / name[len(_WHITEOUT):], keep_self=False)
        return
    if member.islnk():
        target = _inside(member.name, member.linkname, what="hard link target")
        _not_through_link(member.name, target, links, what="its hard link target")
    if member.issym():
        links.add(str(path))
    else:
        links.discard(str(path))


def _inside(entry: str, name: str, *, what: str = "path") -> PurePosixPath:
    """``name`` as a root-relative path, or UnsafeEntry if it is absolute or has ``..``."""
    if name.startswith("/"):
        raise UnsafeEntry(entry, f"has an absolute {what} {name!r}")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise UnsafeEntry(entry, f"has '..' in its {what} {name!r}")
    cleaned = [part for part in parts if part not in ("", ".")]
    return PurePosixPath(*cleaned) if cleaned else PurePosixPath(".")


def _not_through_link(entry: str, path: PurePosixPath, links: set[str], *,
                      what: str = "it") -> None:
    for parent in reversed(path.parents[:-1]):  # "a", "a/b", ... never "." nor path itself
        if str(parent) in links:
            raise UnsafeEntry(entry, f"is written through the symbolic link {str(parent)!r}"
                              if what == "it" else
                              f"reaches {what} through the symbolic link {str(parent)!r}")


def _forget(links: set[str], path: PurePosixPath, *, keep_self: bool) -> None:
    """Drop the links under ``path`` (and ``path`` itself unless ``keep_self``)."""
    prefix = "" if str(path) == "." else f"{path}/"
    for link in list(links):
        if link.startswith(prefix) or (not keep_self and link == str(path)):
            links.discard(link)
