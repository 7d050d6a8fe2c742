"""Docker pulls what distill pushed; `distill copy` between every kind of reference."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.cli.main import main
from distill.oci.model import Image, ImageIndex
from distill.transports import host_architecture, parse_reference, read_artifact, write_artifact
from distill.transports.registry import push

USER, PASSWORD = "distill", "s3cret-pass"
Docker = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def runnable(make_layer: Callable[..., Any], make_image: Callable[..., Image],
             static_hello: bytes, request: pytest.FixtureRequest) -> Image:
    """A host-arch image whose entrypoint /hello prints a line."""
    app = make_layer({"hello": (static_hello, 0o755), "id": request.node.name.encode()})
    return make_image((app,), arch=host_architecture())


def _pull_and_run(docker: Docker, name: str) -> str:
    try:
        pulled = docker("pull", name)
        assert pulled.returncode == 0, pulled.stderr
        ran = docker("run", "--rm", "--network", "none", name)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout
    finally:
        docker("rmi", "-f", name)


@pytest.mark.docker
def test_docker_pulls_and_runs_what_distill_pushed(
    plain_registry: Any, runnable: Image, docker_cli: Docker,
) -> None:
    push(runnable, host=plain_registry.host, repository="docker/run", tag="1")
    assert _pull_and_run(docker_cli, f"{plain_registry.host}/docker/run:1") \
        == "hello from distill\n"


@pytest.mark.docker
def test_docker_pulls_its_platform_from_a_multi_arch_index(
    plain_registry: Any, runnable: Image, make_layer: Callable[..., Any],
    make_image: Callable[..., Image], docker_cli: Docker,
) -> None:
    other = "arm64" if host_architecture() == "amd64" else "amd64"
    index = ImageIndex(images=(runnable, make_image((make_layer({"x": b"1"}),), arch=other)))
    push(index, host=plain_registry.host, repository="docker/multi", tag="1")
    name = f"{plain_registry.host}/docker/multi:1"
    try:
        assert docker_cli("pull", name).returncode == 0
        inspect = docker_cli("image", "inspect", "--format", "{{.Architecture}} {{.Id}}", name)
        arch, image_id = inspect.stdout.split()
        assert arch == host_architecture()
        assert image_id == runnable.config_descriptor().digest
        assert docker_cli("run", "--rm", "--network", "none", name).stdout \
            == "hello from distill\n"
    finally:
        docker_cli("rmi", "-f", name)


@pytest.mark.docker
def test_docker_pulls_from_the_tls_registry_trusting_the_test_ca(
    secure_registry: Any, runnable: Image, docker_cli: Docker, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not Path(f"/etc/docker/certs.d/{secure_registry.host}/ca.crt").is_file():
        pytest.skip("cannot write /etc/docker/certs.d on this machine")
    config = tmp_path / "docker-config"
    config.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {secure_registry.host:
                                                               {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.setenv("DISTILL_REGISTRY_CA", str(secure_registry.ca))
    push(runnable, host=secure_registry.host, repository="docker/tls", tag="1")
    assert _pull_and_run(docker_cli, f"{secure_registry.host}/docker/tls:1") \
        == "hello from distill\n"


def _copy(source: str, destination: str) -> None:
    assert main(["-q", "copy", source, destination]) == 0


def test_copy_keeps_digests_across_oci_registry_and_archives(
    plain_registry: Any, image: Image, tmp_path: Path,
) -> None:
    registry = f"docker://{plain_registry.host}/copy/app"
    write_artifact(image, parse_reference(f"oci:{tmp_path / 'layout'}:v1"))
    _copy(f"oci:{tmp_path / 'layout'}:v1", f"{registry}:from-oci")
    _copy(f"{registry}:from-oci", f"oci-archive:{tmp_path / 'app.tar'}:v1")
    _copy(f"oci-archive:{tmp_path / 'app.tar'}:v1", f"{registry}:from-archive")
    _copy(f"{registry}:from-archive", f"docker-archive:{tmp_path / 'docker.tar'}:copy/app:v1")
    _copy(f"docker-archive:{tmp_path / 'docker.tar'}", f"{registry}:from-docker-archive")
    for tag in ("from-oci", "from-archive"):
        back = read_artifact(parse_reference(f"{registry}:{tag}"), tmp_path / tag)
        assert back.digest == image.digest, tag
    # The docker save format keeps no manifest: the config and the layers' content survive.
    docker_back = read_artifact(parse_reference(f"{registry}:from-docker-archive"),
                                tmp_path / "docker-back")
    assert isinstance(docker_back, Image)
    assert docker_back.config_bytes == image.config_bytes
    assert [x.diff_id for x in docker_back.layers] == [x.diff_id for x in image.layers]
    archived = read_artifact(parse_reference(f"oci-archive:{tmp_path / 'app.tar'}:v1"),
                             tmp_path)
    assert archived.digest == image.digest


def test_copy_of_an_index_keeps_its_digest(
    plain_registry: Any, make_layer: Callable[..., Any], make_image: Callable[..., Image],
    tmp_path: Path,
) -> None:
    index = ImageIndex(images=(make_image((make_layer({"a": b"1"}),), arch="amd64"),
                               make_image((make_layer({"a": b"2"}),), arch="arm64")))
    write_artifact(index, parse_reference(f"oci:{tmp_path / 'layout'}:multi"))
    _copy(f"oci:{tmp_path / 'layout'}:multi", f"docker://{plain_registry.host}/copy/multi:1")
    _copy(f"docker://{plain_registry.host}/copy/multi:1", f"oci:{tmp_path / 'again'}:multi")
    again = read_artifact(parse_reference(f"oci:{tmp_path / 'again'}:multi"), tmp_path)
    assert again.digest == index.digest


def test_copy_of_a_missing_image_is_a_one_line_error(
    plain_registry: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["-q", "copy", f"docker://{plain_registry.host}/copy/none:x",
                 f"oci:{tmp_path / 'out'}"])
    assert code == 1
    err = capsys.readouterr().err
    assert err == f"error: {plain_registry.host}/copy/none:x was not found; " \
                  "check the repository name and tag\n"
    assert not (tmp_path / "out").exists()


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_copy_into_a_new_layout_writes_the_layout_a_layout_write_makes(
    plain_registry: Any, image: Image, tmp_path: Path,
) -> None:
    registry = f"docker://{plain_registry.host}/copy/new-layout:1"
    push(image, host=plain_registry.host, repository="copy/new-layout", tag="1")
    write_artifact(image, parse_reference(f"oci:{tmp_path / 'written'}:v1"))
    out = tmp_path / "out"
    out.mkdir()
    _copy(registry, f"oci:{out / 'pulled'}:v1")
    assert _tree(out / "pulled") == _tree(tmp_path / "written")
    assert [p.name for p in out.iterdir()] == ["pulled"]  # no work folder left beside it
    _copy(registry, f"oci:{out / 'pulled'}:v2")  # an existing layout gains a tag
    tags = [m["annotations"]["org.opencontainers.image.ref.name"] for m in
            json.loads((out / "pulled" / "index.json").read_bytes())["manifests"]]
    assert tags == ["v1", "v2"]
