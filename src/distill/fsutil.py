"""Crash-safe file writing and the cache location.

Everything distill writes into its cache or to an output goes through
:func:`atomic_writer` or :func:`atomic_dir`: the data lands in a temporary file
or folder beside the target, is flushed to disk, then renamed into place, so an
interrupted or failed build never leaves a half-written file behind.

Files and folders get the modes an ordinary ``open``/``mkdir`` would give them
(0666 or 0777 minus the umask), not the private 0600/0700 of ``tempfile``, so
other users can read outputs (and a shared cache) as the umask allows. A target
that is a symbolic link is written through: the link stays, its target changes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

_Made = TypeVar("_Made")


def cache_root() -> Path:
    """The cache folder: ``$DISTILL_CACHE`` or the user's cache dir."""
    configured = os.environ.get("DISTILL_CACHE")
    if configured:
        return Path(configured).expanduser().absolute()
    if sys.platform == "linux":
        # What platformdirs answers on Linux (the XDG base directory rule), without its
        # import on every start-up.
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
        return base / "distill"
    import platformdirs

    return Path(platformdirs.user_cache_dir("distill"))


def ensure_temp_dir() -> None:
    """Create the folder ``$TMPDIR`` names when it is missing.

    Python's ``tempfile`` silently skips a ``TMPDIR`` that does not exist and
    falls back to /tmp, /var/tmp or the working folder. In a container with a
    read-only root and ``TMPDIR`` on a fresh, empty cache volume (a Kubernetes
    emptyDir) those are read-only or the output folder, so the folder is made first.
    """
    named = os.environ.get("TMPDIR")
    if named:
        with contextlib.suppress(OSError):  # unwritable: tempfile picks another, as before
            Path(named).mkdir(parents=True, exist_ok=True)


def current_umask() -> int:
    """The process's umask (read from /proc where possible: setting it is not thread-safe)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new regular file gets under the umask (0644 under 022)."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode a new folder gets under the umask (0755 under 022)."""
    return 0o777 & ~current_umask()


def write_through(target: Path) -> Path:
    """``target``, or where it points when it is a symbolic link (even a dangling one)."""
    return target.resolve() if target.is_symlink() else target


def mkstemp_beside(target: Path) -> tuple[int, Path]:
    """A new temporary file beside ``target`` with the umask's mode (open fd, path).

    As :func:`tempfile.mkstemp` does (O_EXCL, a random name, tried again when
    taken), without importing tempfile (with shutil and random, ~5 ms) on every
    warm rebuild."""
    def create(path: Path) -> int:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)

    fd, path = _new_name(target.parent, f".{target.name}.", ".tmp", create)
    try:
        os.fchmod(fd, file_mode())
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    return fd, path


def _new_name(folder: Path, prefix: str, suffix: str,
              create: Callable[[Path], _Made]) -> tuple[_Made, Path]:
    """``create(path)`` for a new random name in ``folder`` (retried while the name is taken:
    ``create`` must fail with FileExistsError then, as O_EXCL and mkdir do)."""
    for _ in range(100):
        path = folder / f"{prefix}{os.urandom(6).hex()}{suffix}"
        try:
            return create(path), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A new private folder in ``$TMPDIR`` (or /tmp), removed with its content on leaving:
    :class:`tempfile.TemporaryDirectory` without importing tempfile on a copy's path."""
    base = Path(os.environ.get("TMPDIR") or "/tmp")
    _, path = _new_name(base, prefix, "", lambda new: new.mkdir(mode=0o700))
    try:
        yield path
    finally:
        try:
            path.rmdir()
        except OSError:
            import shutil

            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (made when missing) while in the block.

    ``flock`` on a descriptor of its own: other processes and other threads
    wait, and the kernel lets go when the holder dies, so a killed build never
    leaves a stale lock. (filelock does the same on Linux, at ~20 ms of import
    on every rebuild that makes a layer.)
    """
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def is_disk_full(exc: OSError) -> bool:
    """Whether ``exc`` says the file system (or the user's quota) is full."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def write_failure(output: Path, exc: OSError) -> str:
    """One line naming ``output`` for an error met while writing it."""
    if is_disk_full(exc):
        return f"disk full while writing {output}"
    return f"cannot write {output}: {exc.strerror or exc}"


@contextlib.contextmanager
def atomic_writer(target: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``target``; rename it over ``target`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed
    and ``target`` is left as it was.
    """
    target = write_through(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_beside(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_writer(target) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``.

    An existing ``target`` is removed only after the new folder is complete.
    On failure the temporary folder is removed and ``target`` is untouched.
    """
    target = write_through(target)
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tmp.chmod(dir_mode())
        yield tmp
        if target.exists() or target.is_symlink():
            old = target.with_name(f".{target.name}.old.{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def try_reflink(source: BinaryIO, target: BinaryIO) -> bool:
    """Make ``target`` (an empty file) share ``source``'s extents copy-on-write.

    Works on btrfs, XFS and other file systems with reflinks; returns False
    where the file system (or the pair of file systems) cannot, and the caller
    copies instead. A reflinked file has its own inode: editing one never
    changes the other.
    """
    import fcntl  # POSIX only; imported here so the module loads anywhere

    try:
        fcntl.ioctl(target.fileno(), _FICLONE, source.fileno())
    except OSError:
        return False
    return True
