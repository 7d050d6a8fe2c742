"""Reading an image archive: unpack it into a new folder, read it there, clean up on failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from distill.errors import TransportError

_T = TypeVar("_T")


def read_unpacked(archive: Path, work_dir: Path, *, kind: str, read: Callable[[Path], _T]) -> _T:
    """Unpack the tar ``archive`` into a new folder inside ``work_dir`` and ``read`` it there.

    The result may point at files in that folder, so it lives as long as
    ``work_dir`` does; when unpacking or reading fails, the folder is removed.
    ``kind`` names the format in errors (``"OCI archive"``). Entries that would
    land outside the folder are refused (tarfile's ``data`` filter).
    """
    import shutil  # with tarfile and tempfile, only for reading archives (not on a build's path)
    import tarfile
    import tempfile

    work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=kind.lower().replace(" ", "-") + ".", dir=work_dir))
    try:
        try:
            with tarfile.open(archive, mode="r:") as tar:
                tar.extractall(root, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise TransportError(f"cannot unpack {kind} {archive}: {exc}") from exc
        return read(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
