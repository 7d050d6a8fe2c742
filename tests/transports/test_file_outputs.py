"""What every file sink (oci:, oci-archive:, docker-archive:) shares: modes that
follow the umask, symbolic links written through, and a full disk named."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from distill.errors import TransportError
from distill.oci.model import Artifact, Image, Layer
from distill.transports import parse_reference, read_artifact, write_artifact

LayerFactory = Callable[[Mapping[str, bytes | tuple[bytes, int]]], Layer]
ImageFactory = Callable[..., Image]
SINKS = ("oci:{}:v1", "oci-archive:{}:v1", "docker-archive:{}:test/out:v1")


@pytest.fixture(params=[0o022, 0o077], ids=["umask-022", "umask-077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this umask."""
    mask: int = request.param
    before = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(before)


def _modes(root: Path) -> dict[str, int]:
    """Mode of ``root`` and of everything under it, by path relative to ``root``'s parent."""
    found = {root.name: root.stat().st_mode & 0o7777}
    if root.is_dir():
        for path in root.rglob("*"):
            found[str(path.relative_to(root.parent))] = path.stat().st_mode & 0o7777
    return found


@pytest.mark.parametrize("sink", SINKS)
def test_outputs_follow_the_umask(tmp_path: Path, image: Image, umask: int, sink: str) -> None:
    out = tmp_path / "out"
    write_artifact(image, parse_reference(sink.format(out)))
    modes = _modes(out)
    for name, mode in modes.items():
        wanted = 0o777 & ~umask if (tmp_path / name).is_dir() else 0o666 & ~umask
        assert mode == wanted, f"{name}: {oct(mode)}, the umask {oct(umask)} gives {oct(wanted)}"
    # the layout: itself, blobs, blobs/sha256, oci-layout, index.json, 2 layers, config, manifest
    assert len(modes) == (9 if sink.startswith("oci:") else 1)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder under /tmp that every user may enter (pytest's tmp_path is private)."""
    folder = Path(tempfile.mkdtemp(prefix="distill-shared."))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_another_user_unpacks_the_layout_rootless(
    shared_folder: Path, image: Image, require_tool: Callable[[str], Path]
) -> None:
    umoci = require_tool("umoci")
    before = os.umask(0o022)
    try:
        write_artifact(image, parse_reference(f"oci:{shared_folder / 'layout'}:v1"))
    finally:
        os.umask(before)
    work = shared_folder / "work"
    work.mkdir()
    os.chown(work, 65534, 65534)
    ran = subprocess.run(
        ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", str(umoci),
         "unpack", "--rootless", "--image", f"{shared_folder / 'layout'}:v1",
         str(work / "bundle")],
        capture_output=True, text=True, check=False, cwd="/",
    )
    assert ran.returncode == 0, ran.stderr
    assert (work / "bundle" / "rootfs" / "hello").read_bytes() == b"#!/bin/false\n"


@pytest.mark.parametrize("dangling", [False, True], ids=["empty-folder", "dangling"])
def test_an_oci_link_is_written_through(
    tmp_path: Path, image: Image, oracle: Callable[[Artifact], None], dangling: bool
) -> None:
    target = tmp_path / "real" / "layout"
    if not dangling:
        target.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(target)
    write_artifact(image, parse_reference(f"oci:{link}:v1"))
    assert link.is_symlink() and link.resolve() == target
    assert (target / "oci-layout").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers", "link", "real"]
    back = read_artifact(parse_reference(f"oci:{link}:v1"), tmp_path)
    oracle(back)
    assert back.digest == image.digest


@pytest.mark.parametrize("sink", ["oci-archive:{}:v1", "docker-archive:{}:test/out:v1"])
def test_an_archive_link_is_written_through(tmp_path: Path, image: Image, sink: str) -> None:
    target = tmp_path / "real.tar"
    target.write_bytes(b"old")
    link = tmp_path / "link.tar"
    link.symlink_to(target)
    write_artifact(image, parse_reference(sink.format(link)))
    assert link.is_symlink()
    assert tarfile.is_tarfile(target)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (the tests run as root, as `make test` does)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(mount)],
                   check=True, capture_output=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True, capture_output=True)


@pytest.mark.parametrize("sink", SINKS)
def test_a_full_disk_names_the_output(
    tiny_disk: Path, make_layer: LayerFactory, make_image: ImageFactory, sink: str
) -> None:
    big = make_layer({"noise": os.urandom(2 << 20)})  # gzip cannot shrink it below 1 MiB
    out = tiny_disk / "out"
    with pytest.raises(TransportError) as caught:
        write_artifact(make_image((big,)), parse_reference(sink.format(out)))
    assert str(caught.value) == f"disk full while writing {out}"
    assert list(tiny_disk.iterdir()) == []
