"""Blob files hashed once, then trusted while their stat is unchanged.

Hashing every blob a command reads would cost it tens of milliseconds per
100 MB, every time: a re-push of an unchanged layout would spend more time
hashing than talking to the registry. So a file is hashed once, and its
device, inode, size, mtime and ctime are recorded under its digest; while the
file's stat is the same it still holds those bytes (an edit, even one that
restores the mtime, moves the ctime, which no program can set). The layer store
trusts its own blobs this way, and layout readers the layouts' blobs.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from distill.fsutil import atomic_write_bytes
from distill.oci.blobs import file_digest
from distill.oci.digest import digest_hex


class VerifiedFiles:
    """Stamps of files whose bytes matched their digest, one file per digest in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def matches(self, path: Path, digest: str, stat: os.stat_result | None = None) -> bool:
        """Whether the file at ``path`` has ``digest``: by its stamp, else hashed now (and
        stamped when it matches). An unreadable file does not match."""
        try:
            info = stat or path.stat()
        except OSError:
            return False
        with contextlib.suppress(OSError, ValueError):
            if (self.root / digest_hex(digest)).read_text(encoding="ascii") == _stamp(info):
                return True
        try:
            if file_digest(path) != digest:
                return False
        except OSError:
            return False
        self.record(path, digest)
        return True

    def record(self, path: Path, digest: str) -> None:
        """Stamp ``path`` as holding ``digest`` (its bytes are known to match)."""
        with contextlib.suppress(OSError):  # without a stamp the file is hashed next time
            atomic_write_bytes(self.root / digest_hex(digest), _stamp(path.stat()).encode())


def _stamp(info: os.stat_result) -> str:
    return f"{info.st_dev} {info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns}"
