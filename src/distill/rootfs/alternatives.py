"""The links update-alternatives would make, as direct symlinks.

On Debian, ``/usr/bin/java`` points to ``/etc/alternatives/java``, which points
to the chosen JVM. An image has one JVM and no update-alternatives, so distill
links ``/usr/bin/java`` straight to the JVM's ``bin/java``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from distill.errors import FormatError
from distill.rootfs.tree import FileTree, Kind

JVM_ROOT = "/usr/lib/jvm"


def add_alternative_links(tree: FileTree, links: Mapping[str, str]) -> None:
    """Add each ``link -> target`` (absolute paths) as a relative symlink.

    Raises :class:`FormatError` naming the target when it is not a file in ``tree``.
    """
    for link, target in sorted(links.items()):
        resolved = tree.resolve(target)
        entry = tree.get(resolved) if resolved is not None else None
        if entry is None or entry.kind not in (Kind.FILE, Kind.HARDLINK):
            raise FormatError(f"alternative {link}: its target {target} is not a file in the image")
        tree.add_symlink(link, posixpath.relpath(target, posixpath.dirname(link)))


def jvm_home(tree: FileTree) -> str:
    """The one JVM folder under /usr/lib/jvm that has ``bin/java``."""
    homes = sorted(
        posixpath.dirname(posixpath.dirname(path))
        for path in tree.paths()
        if path.startswith(JVM_ROOT + "/") and path.endswith("/bin/java")
        and path.count("/") == 6
    )
    if len(homes) != 1:
        raise FormatError(f"expected one JVM with bin/java under {JVM_ROOT}, found {len(homes)}")
    return homes[0]


def jvm_alternatives(tree: FileTree) -> dict[str, str]:
    """``/usr/bin/<tool> -> <jvm>/bin/<tool>`` for every program of the JVM's bin folder,
    as the openjdk package's postinst registers them."""
    home = jvm_home(tree)
    bin_dir = f"{home}/bin"
    links: dict[str, str] = {}
    for path in tree.paths():
        if posixpath.dirname(path) != bin_dir:
            continue
        entry = tree.get(path)
        if entry is not None and entry.kind is Kind.FILE and entry.mode & 0o111:
            links[f"/usr/bin/{posixpath.basename(path)}"] = path
    return links
