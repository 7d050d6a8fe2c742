"""Files the registry client writes: whole or absent to readers, flushed only when kept.

A downloaded layer that lands in the cache (a remote base) is flushed to disk
before it is renamed into place, as every cache file is. One that lands in a
work folder or a new OCI layout (``distill copy``) is renamed without the flush,
as the layout writer writes its blobs: a flush per layer costs milliseconds and
a crash loses the whole unfinished folder anyway. Hints (:mod:`.known`) are
never flushed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from distill.fsutil import atomic_writer, mkstemp_beside, write_through


@contextlib.contextmanager
def replacing(target: Path, *, durable: bool) -> Iterator[BinaryIO]:
    """A temporary file renamed over ``target`` on success (removed on failure); with
    ``durable`` flushed to disk before the rename."""
    if durable:
        with atomic_writer(target) as out:
            yield out
        return
    target = write_through(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_beside(target)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
