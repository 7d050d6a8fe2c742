"""The OCI archive (tarred layout) sink and source."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.errors import TransportError
from distill.oci.model import Artifact, Image, Layer
from distill.transports import oci_archive

Oracle = Callable[[Artifact], None]


def test_round_trip(tmp_path: Path, image: Image, oracle: Oracle) -> None:
    oci_archive.write(image, tmp_path / "img.tar", tag="v1")
    work = tmp_path / "work"
    work.mkdir()
    back = oci_archive.read(tmp_path / "img.tar", tag="v1", work_dir=work)
    assert isinstance(back, Image)
    oracle(back)
    assert back.digest == image.digest
    assert all(layer.path.is_relative_to(work) for layer in back.layers)


def test_bytes_are_deterministic(tmp_path: Path, image: Image) -> None:
    oci_archive.write(image, tmp_path / "a" / "img.tar", tag="v1")
    oci_archive.write(image, tmp_path / "b" / "img.tar", tag="v1")
    assert (tmp_path / "a" / "img.tar").read_bytes() == (tmp_path / "b" / "img.tar").read_bytes()


def test_members_are_normalized(tmp_path: Path, image: Image) -> None:
    oci_archive.write(image, tmp_path / "img.tar", tag=None)
    with tarfile.open(tmp_path / "img.tar") as tar:
        infos = tar.getmembers()
    names = [info.name for info in infos]
    assert names == sorted(names)
    assert {"oci-layout", "index.json", "blobs", "blobs/sha256"} <= set(names)
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname) for i in infos} == {(0, 0, 0, "", "")}


def test_failed_write_leaves_nothing(tmp_path: Path, image: Image) -> None:
    out = tmp_path / "out"
    out.mkdir()
    gone = Layer(
        digest="sha256:" + "1" * 64,
        size=1,
        diff_id="sha256:" + "2" * 64,
        uncompressed_size=1,
        path=tmp_path / "missing.tar.gz",
    )
    broken = Image(config_bytes=image.config_bytes, layers=(gone,), platform=image.platform)
    with pytest.raises(TransportError, match=r"missing\.tar\.gz"):
        oci_archive.write(broken, out / "img.tar", tag="v1")
    assert list(out.iterdir()) == []


@pytest.mark.tools
def test_skopeo_reads_the_archive(tmp_path: Path, image: Image, skopeo: str) -> None:
    oci_archive.write(image, tmp_path / "img.tar", tag="v1")
    result = subprocess.run(
        [skopeo, "inspect", f"oci-archive:{tmp_path / 'img.tar'}:v1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Digest"] == image.digest
