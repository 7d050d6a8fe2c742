"""The generated system files of a distroless root: what maintainer scripts and
distroless's own tarballs would have added."""

from __future__ import annotations

from distill.errors import FormatError
from distill.rootfs.tree import FileTree, Kind

NSSWITCH_CONF = """\
# /etc/nsswitch.conf: name service switch of a distroless image.
# Without it, glibc's getaddrinfo ignores /etc/hosts.

passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      files
services:       files
ethers:         files
rpc:            files
"""

OS_RELEASE = "/etc/os-release"

# base-files' postinst turns these folders into links (migrate_directory).
_RUN_LINKS: tuple[tuple[str, str], ...] = (("/var/run", "/run"), ("/var/lock", "/run/lock"))


def add_system_files(tree: FileTree) -> None:
    """Add /etc/nsswitch.conf, /tmp (1777), /root (0700) and base-files' /run links."""
    tree.add_file("/etc/nsswitch.conf", NSSWITCH_CONF.encode(), mode=0o644)
    tree.add_dir("/tmp", mode=0o1777)
    tree.add_dir("/root", mode=0o700)
    migrate_run_dirs(tree)


def migrate_run_dirs(tree: FileTree) -> None:
    """Make /var/run and /var/lock links into /run, as base-files' postinst does.

    Only empty folders (or absent ones, when /run exists) are replaced, so no
    packaged file is hidden; /run/lock is created 1777 like the postinst does.
    """
    if tree.get("/run") is None:
        return
    if tree.get("/run/lock") is None:
        tree.add_dir("/run/lock", mode=0o1777)
    for folder, target in _RUN_LINKS:
        entry = tree.get(folder)
        if entry is not None and (entry.kind is not Kind.DIR or _has_children(tree, folder)):
            continue
        tree.add_symlink(folder, target)


def check_os_release(tree: FileTree) -> str:
    """The path /etc/os-release resolves to; :class:`FormatError` if it leads to no file."""
    resolved = tree.resolve(OS_RELEASE)
    entry = tree.get(resolved) if resolved is not None else None
    if resolved is None or entry is None or entry.kind is not Kind.FILE:
        raise FormatError(f"{OS_RELEASE} does not resolve to a file (is base-files installed?)")
    return resolved


def _has_children(tree: FileTree, folder: str) -> bool:
    prefix = folder + "/"
    return any(path.startswith(prefix) for path in tree.paths())
