"""The build pipeline against the real mirror: examples/hello with a static C program."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.assembly.pipeline import BuildResult, build
from distill.cli.main import main
from distill.config import Config, load_config
from distill.flavors.catalog import DEFAULT_PATH
from distill.oci.model import Image, ImageIndex, Layer
from distill.oci.validate import validate
from distill.rootfs.certificates import CA_BUNDLE_PATH
from distill.transports import oci_layout

pytestmark = pytest.mark.mirror

SECOND = 10**9


def the_image(result: BuildResult) -> Image:
    """The single image of a one-architecture build."""
    assert isinstance(result.artifact, Image)
    return result.artifact


def layer_members(layer: Layer) -> dict[str, tarfile.TarInfo]:
    """The tar members of a layer blob, by path."""
    data = gzip.decompress(layer.path.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {member.name: member for member in tar.getmembers()}


def blob_snapshot(cache: Path) -> dict[str, tuple[int, int]]:
    """Every file of the layer store's blob folder with its inode and mtime."""
    blobs = cache / "layers" / "blobs" / "sha256"
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in blobs.iterdir()}


def test_hello_is_the_static_layer_plus_the_app_layer(hello_build: BuildResult) -> None:
    image = the_image(hello_build)
    validate(image)
    assert len(image.layers) == 2
    assert (hello_build.name, hello_build.tag) == ("hello", "1.0")
    members = layer_members(image.layers[1])
    assert set(members) == {"app", "app/hello"}
    assert members["app/hello"].mode == 0o755
    static = layer_members(image.layers[0])
    assert {"etc/passwd", "etc/ssl/certs/ca-certificates.crt", "home/nonroot"} <= set(static)
    assert image.annotations["org.opencontainers.image.title"] == "hello"
    assert image.annotations["org.opencontainers.image.version"] == "1.0"


def test_hello_runtime_config(hello_build: BuildResult) -> None:
    config = the_image(hello_build).config
    runtime = config["config"]
    assert runtime["User"] == "65532:65532"
    assert runtime["WorkingDir"] == "/home/nonroot"
    assert runtime["Env"] == [f"PATH={DEFAULT_PATH}", f"SSL_CERT_FILE={CA_BUNDLE_PATH}", "TZ=UTC"]
    assert runtime["Entrypoint"] == ["/app/hello"]
    assert runtime["ExposedPorts"] == {"8080/tcp": {}}
    assert runtime["StopSignal"] == "SIGTERM"
    assert runtime["Labels"] == {
        "org.opencontainers.image.description": "distill's example HTTP server"}
    assert runtime["Healthcheck"] == {
        "Test": ["CMD", "/app/hello", "--health-check"], "Interval": 2 * SECOND,
        "Timeout": 3 * SECOND, "StartPeriod": 1 * SECOND, "Retries": 3}
    assert (config["architecture"], config["os"]) == ("amd64", "linux")
    assert len(config["history"]) == len(config["rootfs"]["diff_ids"]) == 2


def test_static_layer_is_the_layer_of_distill_base(
    hello_build: BuildResult, use_private_layers_cache: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    layout = tmp_path / "base"
    assert main(["--quiet", "base", "static:nonroot", "-o", f"oci:{layout}"]) == 0
    capsys.readouterr()
    base = oci_layout.read(layout, tag="nonroot")
    assert isinstance(base, Image)
    assert [layer.digest for layer in base.layers] == [the_image(hello_build).layers[0].digest]
    # The app names that very image as its base, so `distill rebase` can find its layers.
    annotations = the_image(hello_build).annotations
    assert annotations["org.opencontainers.image.base.digest"] == base.digest
    assert annotations["io.distill.base.layers"] == "1"
    assert "org.opencontainers.image.base.digest" not in base.annotations


def test_second_build_comes_from_the_layer_store(
    hello_build: BuildResult, hello_config: Config, private_layers_cache: Path,
    use_private_layers_cache: Path,
) -> None:
    before = blob_snapshot(private_layers_cache)
    again = build(hello_config)
    assert blob_snapshot(private_layers_cache) == before
    assert the_image(again).digest == the_image(hello_build).digest
    assert {layer.path.name for layer in the_image(again).layers} <= set(before)
    leftovers = [p for p in (private_layers_cache / "layers").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_changed_binary_changes_only_the_last_layer(
    hello_build: BuildResult, hello_binary_v2: Path,
    make_hello_project: Callable[[Path, Path], Path], use_private_layers_cache: Path,
    tmp_path: Path,
) -> None:
    changed = build(load_config(make_hello_project(tmp_path, hello_binary_v2)))
    old, new = the_image(hello_build).layers, the_image(changed).layers
    assert new[0].digest == old[0].digest
    assert new[1].digest != old[1].digest
    assert the_image(changed).digest != the_image(hello_build).digest


def test_two_architectures_give_an_index(
    hello_build: BuildResult, hello_config: Config, use_private_layers_cache: Path,
) -> None:
    result = build(hello_config, archs=["amd64", "arm64"])
    assert isinstance(result.artifact, ImageIndex)
    validate(result.artifact)
    platforms = [str(image.platform) for image in result.artifact.images]
    assert platforms == ["linux/amd64", "linux/arm64"]
    amd64, arm64 = result.artifact.images
    assert amd64.digest == the_image(hello_build).digest
    assert arm64.layers[0].digest != amd64.layers[0].digest
    assert arm64.layers[1].digest == amd64.layers[1].digest
    assert arm64.config["architecture"] == "arm64"


def test_source_date_epoch_sets_the_times(
    hello_config: Config, use_private_layers_cache: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(os.environ, "SOURCE_DATE_EPOCH", "1700000000")
    image = the_image(build(hello_config))
    assert image.config["created"] == "2023-11-14T22:13:20Z"
    for layer in image.layers:
        assert {m.mtime for m in layer_members(layer).values()} == {1700000000}
