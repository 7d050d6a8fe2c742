"""The OCI image layout sink and source, checked against itself, skopeo and umoci."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from distill.errors import IntegrityError, TransportError
from distill.oci.digest import digest_hex
from distill.oci.model import Artifact, Image, ImageIndex, Layer
from distill.transports import oci_layout

LayerFactory = Callable[[Mapping[str, bytes | tuple[bytes, int]]], Layer]
ImageFactory = Callable[..., Image]
Oracle = Callable[[Artifact], None]


def _index(path: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads((path / "index.json").read_bytes())
    return doc


def _entries(path: Path) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = _index(path)["manifests"]  # type: ignore[assignment]
    return entries


def test_layout_files(tmp_path: Path, image: Image) -> None:
    out = tmp_path / "out"
    oci_layout.write(image, out, tag="v1")
    assert json.loads((out / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = _entries(out)
    assert entry["digest"] == image.digest
    assert entry["annotations"] == {oci_layout.REF_NAME: "v1"}
    blobs = {p.name for p in (out / "blobs" / "sha256").iterdir()}
    expected = {digest_hex(layer.digest) for layer in image.layers}
    expected |= {digest_hex(image.digest), digest_hex(image.config_descriptor().digest)}
    assert blobs == expected


def test_round_trip_keeps_digests(tmp_path: Path, image: Image, oracle: Oracle) -> None:
    oci_layout.write(image, tmp_path / "a", tag="v1")
    back = oci_layout.read(tmp_path / "a", tag="v1")
    assert isinstance(back, Image)
    oracle(back)
    assert back.digest == image.digest
    assert back.config_bytes == image.config_bytes
    assert [(la.digest, la.diff_id, la.uncompressed_size) for la in back.layers] == [
        (la.digest, la.diff_id, la.uncompressed_size) for la in image.layers
    ]
    oci_layout.write(back, tmp_path / "b", tag="v1")
    assert (tmp_path / "b" / "index.json").read_bytes() == (
        tmp_path / "a" / "index.json"
    ).read_bytes()


def test_layer_blobs_never_share_the_layer_files_inode(tmp_path: Path, image: Image) -> None:
    oci_layout.write(image, tmp_path / "out", tag=None)
    for layer in image.layers:
        blob = tmp_path / "out" / "blobs" / "sha256" / digest_hex(layer.digest)
        assert blob.stat().st_ino != layer.path.stat().st_ino
        before = layer.path.read_bytes()
        blob.write_bytes(b"rewritten by another tool")
        assert layer.path.read_bytes() == before


def test_a_layer_file_that_no_longer_matches_is_refused(tmp_path: Path, image: Image) -> None:
    layer = image.layers[1]
    data = layer.path.read_bytes()
    layer.path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(IntegrityError, match="does not match its digest"):
        oci_layout.write(image, tmp_path / "out", tag=None)
    assert not (tmp_path / "out").exists()


def test_a_damaged_blob_in_an_existing_layout_is_rewritten(
    tmp_path: Path, image: Image, oracle: Oracle
) -> None:
    out = tmp_path / "out"
    oci_layout.write(image, out, tag="v1")
    blobs = out / "blobs" / "sha256"
    layer = blobs / digest_hex(image.layers[1].digest)
    config = blobs / digest_hex(image.config_descriptor().digest)
    for blob in (layer, config):
        data = blob.read_bytes()
        blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, wrong bytes
    oci_layout.write(image, out, tag="v2")
    for tag in ("v1", "v2"):
        back = oci_layout.read(out, tag=tag)
        oracle(back)
        assert back.digest == image.digest


def test_index_round_trip(
    tmp_path: Path, make_layer: LayerFactory, make_image: ImageFactory, oracle: Oracle
) -> None:
    amd = make_image((make_layer({"a": b"amd64"}),), arch="amd64")
    arm = make_image((make_layer({"a": b"arm64"}),), arch="arm64")
    index = ImageIndex(images=(amd, arm), annotations={"org.example.note": "x"})
    oci_layout.write(index, tmp_path / "out", tag="multi")
    back = oci_layout.read(tmp_path / "out", tag="multi")
    assert isinstance(back, ImageIndex)
    oracle(back)
    assert back.digest == index.digest
    assert [i.platform.architecture for i in back.images] == ["amd64", "arm64"]


def test_existing_layout_gains_and_replaces_tags(
    tmp_path: Path, image: Image, make_layer: LayerFactory, make_image: ImageFactory
) -> None:
    other = make_image((make_layer({"other": b"2"}),))
    newer = make_image((make_layer({"newer": b"3"}),))
    out = tmp_path / "out"
    oci_layout.write(image, out, tag="v1")
    oci_layout.write(other, out, tag="v2")
    assert [e["digest"] for e in _entries(out)] == [image.digest, other.digest]
    oci_layout.write(newer, out, tag="v1")
    assert [e["digest"] for e in _entries(out)] == [other.digest, newer.digest]
    # The replaced image's blobs stay, as skopeo leaves them.
    assert (out / "blobs" / "sha256" / digest_hex(image.digest)).is_file()
    assert oci_layout.read(out, tag="v2").digest == other.digest
    assert oci_layout.read(out, tag="v1").digest == newer.digest


def test_reading_needs_a_known_tag(
    tmp_path: Path, image: Image, make_layer: LayerFactory, make_image: ImageFactory
) -> None:
    out = tmp_path / "out"
    oci_layout.write(image, out, tag="v1")
    oci_layout.write(make_image((make_layer({"x": b"y"}),)), out, tag="v2")
    with pytest.raises(TransportError, match="no image tagged 'v3' \\(tags: v1, v2\\)"):
        oci_layout.read(out, tag="v3")
    with pytest.raises(TransportError, match="holds 2 images; name a tag"):
        oci_layout.read(out, tag=None)


def test_refuses_a_folder_that_is_not_a_layout(tmp_path: Path, image: Image) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(TransportError, match="is not an OCI image layout"):
        oci_layout.write(image, tmp_path / "out", tag=None)
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def _missing_layer(image: Image, tmp_path: Path) -> Image:
    gone = Layer(
        digest="sha256:" + "1" * 64,
        size=10,
        diff_id="sha256:" + "2" * 64,
        uncompressed_size=20,
        path=tmp_path / "no-such-layer.tar.gz",
    )
    return Image(
        config_bytes=image.config_bytes, layers=(*image.layers, gone), platform=image.platform
    )


def test_failed_write_leaves_nothing(tmp_path: Path, image: Image) -> None:
    with pytest.raises(TransportError, match="no-such-layer"):
        oci_layout.write(_missing_layer(image, tmp_path), tmp_path / "out", tag="v1")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_failed_write_keeps_an_existing_layout(tmp_path: Path, image: Image) -> None:
    out = tmp_path / "out"
    oci_layout.write(image, out, tag="v1")
    before = (out / "index.json").read_bytes()
    with pytest.raises(TransportError, match="no-such-layer"):
        oci_layout.write(_missing_layer(image, tmp_path), out, tag="v2")
    assert (out / "index.json").read_bytes() == before
    assert oci_layout.read(out, tag="v1").digest == image.digest


def test_a_corrupt_blob_is_an_integrity_error(tmp_path: Path, image: Image) -> None:
    out = tmp_path / "out"
    oci_layout.write(image, out, tag="v1")
    config = out / "blobs" / "sha256" / digest_hex(image.config_descriptor().digest)
    config.write_bytes(config.read_bytes().replace(b"65532", b"00000"))
    with pytest.raises(IntegrityError, match=digest_hex(image.config_descriptor().digest)):
        oci_layout.read(out, tag="v1")


def test_a_corrupt_layer_is_an_integrity_error(tmp_path: Path, image: Image) -> None:
    out = tmp_path / "copy"
    oci_layout.write(image, out, tag=None)
    blob = out / "blobs" / "sha256" / digest_hex(image.layers[1].digest)
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(IntegrityError, match="does not match its descriptor"):
        oci_layout.read(out, tag=None)


# Real tools


@pytest.mark.tools
def test_skopeo_inspects_the_layout(tmp_path: Path, image: Image, skopeo: str) -> None:
    oci_layout.write(image, tmp_path / "out", tag="v1")
    result = subprocess.run(
        [skopeo, "inspect", f"oci:{tmp_path / 'out'}:v1"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["Digest"] == image.digest
    assert info["Layers"] == [layer.digest for layer in image.layers]
    assert info["Architecture"] == "amd64"


@pytest.mark.tools
def test_skopeo_copy_keeps_our_digests(tmp_path: Path, image: Image, skopeo: str) -> None:
    oci_layout.write(image, tmp_path / "ours", tag="v1")
    result = subprocess.run(
        [skopeo, "copy", f"oci:{tmp_path / 'ours'}:v1", f"oci:{tmp_path / 'theirs'}:v1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    (theirs,) = _entries(tmp_path / "theirs")
    assert theirs["digest"] == image.digest
    ours = {p.name for p in (tmp_path / "ours" / "blobs" / "sha256").iterdir()}
    assert {p.name for p in (tmp_path / "theirs" / "blobs" / "sha256").iterdir()} == ours
    back = oci_layout.read(tmp_path / "theirs", tag="v1")
    assert back.digest == image.digest


@pytest.mark.tools
def test_umoci_unpacks_the_layout(tmp_path: Path, image: Image, umoci: str) -> None:
    oci_layout.write(image, tmp_path / "out", tag="v1")
    bundle = tmp_path / "bundle"
    result = subprocess.run(
        [umoci, "unpack", "--rootless", "--image", f"{tmp_path / 'out'}:v1", str(bundle)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (bundle / "rootfs" / "etc" / "os-release").read_bytes() == b"ID=test\n"
    assert (bundle / "rootfs" / "hello").stat().st_mode & 0o777 == 0o755
    config = json.loads((bundle / "config.json").read_bytes())
    assert config["process"]["args"] == ["/hello"]


def test_layers_on_another_file_system_are_copied(tmp_path: Path, image: Image) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system at /dev/shm")
    with tempfile.TemporaryDirectory(dir=shm) as other:
        moved = []
        for layer in image.layers:
            target = Path(other) / layer.path.name
            shutil.copyfile(layer.path, target)
            moved.append(dataclasses.replace(layer, path=target))
        far = dataclasses.replace(image, layers=tuple(moved))
        oci_layout.write(far, tmp_path / "out", tag="v1")
    back = oci_layout.read(tmp_path / "out", tag="v1")
    assert back.digest == image.digest


def test_a_layer_read_once_is_refused_after_an_edit_that_keeps_size_and_mtime(
        tmp_path: Path, image: Image) -> None:
    out = tmp_path / "copy"
    oci_layout.write(image, out, tag=None)
    oci_layout.read(out, tag=None, check_diff_ids=False)  # hashed, and stamped as checked
    blob = out / "blobs" / "sha256" / digest_hex(image.layers[1].digest)
    before = blob.stat()
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    os.utime(blob, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(IntegrityError, match="does not match its descriptor"):
        oci_layout.read(out, tag=None, check_diff_ids=False)
