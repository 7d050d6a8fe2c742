"""Fixtures of the rootfs tests: real Debian packages and small hand-made ones."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from distill.debian.deb import DebArchive, read_deb
from support.debs import apt_download

PACKAGES = ("base-files", "netbase", "tzdata", "media-types", "ca-certificates", "libc6")
"""Downloaded once per session with the host's apt (bookworm, amd64 on this host)."""


@pytest.fixture(scope="session")
def deb_paths(host_mirror: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real .debs of :data:`PACKAGES`, by package name."""
    return apt_download(PACKAGES, tmp_path_factory.mktemp("debs"))


@pytest.fixture(scope="session")
def debs(deb_paths: dict[str, Path]) -> dict[str, DebArchive]:
    """The real packages of :data:`PACKAGES`, read."""
    return {name: read_deb(path) for name, path in deb_paths.items()}


@dataclass(frozen=True)
class Member:
    """One data.tar entry of a hand-made package."""

    name: str
    kind: str = "file"  # file | dir | symlink | hardlink | fifo
    data: bytes = b""
    target: str = ""
    mode: int = 0o644


DebFactory = Callable[..., DebArchive]


def _tar(members: Sequence[Member]) -> bytes:
    buffer = io.BytesIO()
    kinds = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "fifo": tarfile.FIFOTYPE,
    }
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member in members:
            info = tarfile.TarInfo("./" + member.name.lstrip("/"))
            info.type = kinds[member.kind]
            info.mode = member.mode
            info.linkname = member.target
            info.size = len(member.data) if member.kind == "file" else 0
            tar.addfile(info, io.BytesIO(member.data) if member.kind == "file" else None)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def make_deb() -> DebFactory:
    """``make_deb(members, *, package="demo", md5sums="")``: a DebArchive built in memory.

    ``members`` are dicts of :class:`Member` fields, in archive order.
    """

    def build(
        members: Sequence[dict[str, object]], *, package: str = "demo", md5sums: str = ""
    ) -> DebArchive:
        control = f"Package: {package}\nVersion: 1.0-1\nArchitecture: arm64\nMulti-Arch: same\n"
        entries = [Member(**m) for m in members]  # type: ignore[arg-type]
        return DebArchive(control=control, md5sums=md5sums, data_tar=_tar(entries))

    return build
