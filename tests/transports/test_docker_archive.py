"""The docker save format, read back by distill, skopeo and docker load."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from distill.errors import IntegrityError
from distill.oci import media_types
from distill.oci.digest import digest_hex
from distill.oci.model import Artifact, Image, Layer
from distill.transports import docker_archive, oci_layout

Oracle = Callable[[Artifact], None]
LayerFactory = Callable[[Mapping[str, bytes | tuple[bytes, int]]], Layer]
Docker = Callable[..., subprocess.CompletedProcess[str]]


def test_archive_layout(tmp_path: Path, image: Image) -> None:
    docker_archive.write(image, tmp_path / "img.tar", names=["app:1.0"])
    with tarfile.open(tmp_path / "img.tar") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config_name = f"{digest_hex(image.config_descriptor().digest)}.json"
        assert manifest == [
            {"Config": config_name, "RepoTags": ["app:1.0"], "Layers": manifest[0]["Layers"]}
        ]
        assert tar.extractfile(config_name).read() == image.config_bytes  # type: ignore[union-attr]
        for layer, member in zip(image.layers, manifest[0]["Layers"], strict=True):
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            assert data == gzip.decompress(layer.path.read_bytes())
            folder = member.split("/")[0]
            assert tar.extractfile(f"{folder}/VERSION").read() == b"1.0"  # type: ignore[union-attr]
        repos = json.load(tar.extractfile("repositories"))  # type: ignore[arg-type]
        assert list(repos) == ["app"]
        infos = tar.getmembers()
    assert {(i.mtime, i.uid, i.gid) for i in infos} == {(0, 0, 0)}
    size = (tmp_path / "img.tar").stat().st_size
    assert size == docker_archive.archive_size(docker_archive.members(image, names=["app:1.0"]))


def test_bytes_are_deterministic(tmp_path: Path, image: Image) -> None:
    docker_archive.write(image, tmp_path / "a.tar", names=["app:1"])
    docker_archive.write(image, tmp_path / "b.tar", names=["app:1"])
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_omitted_layers_are_empty_placeholders(image: Image) -> None:
    plan = docker_archive.members(image, names=[], omit_layers=1)
    tars = [m for m in plan if m.name.endswith("/layer.tar")]
    assert [(m.size, m.layer) for m in tars] == [
        (0, None),
        (image.layers[1].uncompressed_size, image.layers[1]),
    ]


def test_round_trip(tmp_path: Path, image: Image, oracle: Oracle) -> None:
    docker_archive.write(image, tmp_path / "img.tar", names=["app:1"])
    work = tmp_path / "work"
    work.mkdir()
    back = docker_archive.read(tmp_path / "img.tar", work, name="app:1")
    oracle(back)
    assert back.config_bytes == image.config_bytes
    assert back.platform == image.platform
    assert [la.media_type for la in back.layers] == [media_types.OCI_LAYER] * 2
    assert [la.digest for la in back.layers] == [la.diff_id for la in image.layers]
    oci_layout.write(back, tmp_path / "oci", tag="v1")
    again = oci_layout.read(tmp_path / "oci", tag="v1")
    oracle(again)
    assert again.digest == back.digest


def test_a_gzip_blob_sent_as_is_is_checked_against_its_digest(
    image: Image, make_layer: LayerFactory
) -> None:
    real = make_layer({"x": b"1"})
    other = make_layer({"y": b"2"})
    liar = Layer(digest=other.digest, size=real.size, diff_id=real.diff_id,
                 uncompressed_size=real.uncompressed_size, path=real.path)
    good = Image(config_bytes=image.config_bytes, layers=(real,), platform=image.platform)
    plan = docker_archive.members(good, names=[], compressed=True)
    assert [m.size for m in plan if m.layer is not None] == [real.size]
    docker_archive.write_members(plan, io.BytesIO())
    broken = Image(config_bytes=image.config_bytes, layers=(liar,), platform=image.platform)
    with pytest.raises(IntegrityError, match="is not its digest"):
        docker_archive.write_members(docker_archive.members(broken, names=[], compressed=True),
                                     io.BytesIO())


def test_a_layer_that_lies_about_its_diff_id_leaves_no_file(
    tmp_path: Path, image: Image, make_layer: LayerFactory
) -> None:
    real = make_layer({"x": b"1"})
    liar = Layer(
        digest=real.digest,
        size=real.size,
        diff_id=image.layers[0].diff_id,
        uncompressed_size=real.uncompressed_size,
        path=real.path,
    )
    broken = Image(config_bytes=image.config_bytes, layers=(liar,), platform=image.platform)
    with pytest.raises(IntegrityError, match="does not unpack to its diff_id"):
        docker_archive.write(broken, tmp_path / "img.tar", names=[])
    assert list(tmp_path.glob("*img.tar*")) == []


@pytest.mark.tools
def test_skopeo_reads_the_archive(tmp_path: Path, image: Image, skopeo: str) -> None:
    docker_archive.write(image, tmp_path / "img.tar", names=["localhost:5000/app:1.0"])
    result = subprocess.run(
        [skopeo, "inspect", f"docker-archive:{tmp_path / 'img.tar'}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["Layers"] == [layer.diff_id for layer in image.layers]
    assert info["Env"] == image.config["config"]["Env"]
    copied = subprocess.run(
        [skopeo, "copy", f"docker-archive:{tmp_path / 'img.tar'}", f"oci:{tmp_path / 'oci'}:v1"],
        capture_output=True,
        text=True,
    )
    assert copied.returncode == 0, copied.stderr
    back = oci_layout.read(tmp_path / "oci", tag="v1")
    assert isinstance(back, Image)
    # skopeo re-serializes the config when it converts the format, and drops the
    # Docker-only Healthcheck that the OCI config spec lacks; the rest is ours.
    ours = {k: v for k, v in image.config["config"].items() if k != "Healthcheck"}
    assert back.config["config"] == ours
    assert back.config["rootfs"] == image.config["rootfs"]


@pytest.mark.docker
def test_docker_load_takes_the_archive(
    tmp_path: Path, image: Image, docker_names: Callable[[str], str], docker_cli: Docker
) -> None:
    name = docker_names("archive")
    docker_archive.write(image, tmp_path / "img.tar", names=[name])
    loaded = docker_cli("load", "-i", str(tmp_path / "img.tar"))
    assert loaded.returncode == 0, loaded.stderr
    assert f"Loaded image: {name}" in loaded.stdout
    inspected = docker_cli("image", "inspect", name)
    assert inspected.returncode == 0, inspected.stderr
    (info,) = json.loads(inspected.stdout)
    assert info["Id"] == image.config_descriptor().digest
    assert info["Config"]["Env"] == ["PATH=/usr/bin:/bin", "TZ=UTC"]
    assert info["Config"]["User"] == "65532"
    assert info["Config"]["Healthcheck"]["Test"] == ["CMD", "/hello", "--health"]
    assert info["RootFS"]["Layers"] == [layer.diff_id for layer in image.layers]
