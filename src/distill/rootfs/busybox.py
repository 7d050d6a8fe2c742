"""Debian's static busybox under /busybox with one link per applet, as the
distroless debug images have it, without running busybox.

The applet list comes from the binary itself: busybox keeps its applet names
as one sorted run of NUL-terminated strings starting with ``[`` and ``[[``
(``applet_names`` in the generated ``applet_tables.h``). Reading it from the
data works for every architecture, where running ``busybox --list`` would need
an emulator for foreign ones.
"""

from __future__ import annotations

import re

from distill.debian.deb import DebArchive
from distill.errors import FormatError
from distill.rootfs.packages import STATUS_DIR, status_text
from distill.rootfs.tree import FileTree

BUSYBOX_DIR = "/busybox"
BUSYBOX_PATH = f"{BUSYBOX_DIR}/busybox"
BUSYBOX_PACKAGE = "busybox-static"

_TABLE_START = b"[\x00[[\x00"
_APPLET_NAME = re.compile(rb"[a-z0-9][a-z0-9._+-]*")
_MIN_APPLETS = 50  # every busybox build Debian ships has hundreds


def applet_names(binary: bytes) -> tuple[str, ...]:
    """The applet names compiled into a busybox ``binary`` (``[``, ``[[``, ``ar``...).

    Raises :class:`FormatError` when the binary holds no plausible applet table.
    """
    start = binary.find(_TABLE_START)
    if start < 0:
        raise FormatError("busybox binary: no applet name table found")
    names = ["[", "[["]
    position = start + len(_TABLE_START)
    while True:
        end = binary.find(b"\x00", position)
        word = binary[position:end]
        if end < 0 or not _APPLET_NAME.fullmatch(word) or word.decode() <= names[-1]:
            break
        names.append(word.decode())
        position = end + 1
    if len(names) < _MIN_APPLETS:
        raise FormatError(f"busybox binary: applet table has only {len(names)} names")
    return tuple(names)


def busybox_binary(deb: DebArchive) -> bytes:
    """The ``busybox`` executable of the busybox-static package."""
    for member in deb.members():
        name = member.info.name.removeprefix("./").lstrip("/")
        if member.info.isreg() and name in ("bin/busybox", "usr/bin/busybox"):
            return member.data
    raise FormatError(f"package {BUSYBOX_PACKAGE} has no bin/busybox")


def add_busybox(tree: FileTree, deb: DebArchive) -> tuple[str, ...]:
    """Put busybox at /busybox/busybox with a link per applet; return the applets.

    The package's control paragraph goes to ``status.d`` so scanners see it.
    """
    binary = busybox_binary(deb)
    applets = applet_names(binary)
    tree.add_dir(BUSYBOX_DIR, mode=0o755)
    tree.add_file(BUSYBOX_PATH, binary, mode=0o755)
    for applet in applets:
        if applet != "busybox":
            tree.add_symlink(f"{BUSYBOX_DIR}/{applet}", "busybox")
    tree.add_file(f"{STATUS_DIR}/{BUSYBOX_PACKAGE}", status_text(deb.control), mode=0o644)
    return applets
