"""One merged-/usr layout for every release.

Debian bookworm packages still ship files under ``/bin``, ``/lib`` and friends,
while trixie ships most of them under ``/usr``; on a real system usrmerge (or
debootstrap) turns the top-level folders into links into ``/usr``. distill does
the same without running anything: every package path is mapped to its place
under ``/usr`` (:func:`canonical_path`), relative link texts are rewritten when
the link moved (:func:`moved_link_target`), and the top-level links are added at
the end (:func:`add_merged_usr_links`).
"""

from __future__ import annotations

import posixpath

from distill.errors import FormatError
from distill.rootfs.tree import FileTree, Kind, normalize

MERGED_DIRS: tuple[str, ...] = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Top-level folders that become links to the folder of the same name in /usr."""


def canonical_path(path: str) -> str:
    """Where ``path`` lives in the merged layout (``/lib/x`` -> ``/usr/lib/x``)."""
    normalized = normalize(path)
    top, _, _ = normalized[1:].partition("/")
    if top in MERGED_DIRS:
        return "/usr" + normalized
    return normalized


def moved_link_target(old_path: str, new_path: str, target: str) -> str:
    """The link text that keeps a link moved from ``old_path`` to ``new_path`` valid.

    Absolute targets resolve through the top-level links and stay as they are;
    a relative target is re-expressed from the link's new folder.
    """
    old_dir = posixpath.dirname(normalize(old_path))
    new_dir = posixpath.dirname(normalize(new_path))
    if target.startswith("/") or old_dir == new_dir:
        return target
    pointed = canonical_path(posixpath.normpath(posixpath.join(old_dir, target)))
    return posixpath.relpath(pointed, new_dir)


def add_merged_usr_links(tree: FileTree) -> list[str]:
    """Add ``/bin -> usr/bin`` and the like for each merged folder present under /usr.

    Returns the links added. Raises :class:`FormatError` when a top-level folder
    still holds entries, which means a path bypassed :func:`canonical_path`.
    """
    added: list[str] = []
    for name in MERGED_DIRS:
        usr_dir = tree.get(f"/usr/{name}")
        if usr_dir is None or usr_dir.kind is not Kind.DIR:
            continue
        top = tree.get(f"/{name}")
        if top is not None and top.kind is not Kind.SYMLINK:
            raise FormatError(f"/{name} is a {top.kind.value}, not the link to usr/{name}")
        tree.add_symlink(f"/{name}", f"usr/{name}")
        added.append(f"/{name}")
    return added
