"""Apps on images distill did not build for them: ``base: oci:...`` and ``base: docker://...``.

The bases are distill's own static:nonroot, written to an OCI layout or pushed
(for amd64 and arm64) to the test registry; the apps are built on the real
mirror, checked with the validation oracle, and run in Docker.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.api import build, lock
from distill.cli.main import main
from distill.config import Config, parse_config
from distill.errors import ConfigError, LockError
from distill.oci.model import Image, ImageIndex
from distill.oci.validate import validate
from distill.transports import host_architecture, parse_reference, read_artifact, write_artifact
from distill.transports.registry import pull, push

Docker = Callable[..., subprocess.CompletedProcess[str]]
BASE_KEYS = ("User", "WorkingDir", "Env")


def _app(folder: Path, hello: bytes, base: str, **extra: Any) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello").write_bytes(hello)
    document = {"name": "on-remote", "base": base, "entrypoint": ["/hello"],
                "files": [{"src": "hello", "dst": "/hello", "mode": "0755"}], **extra}
    return parse_config(document, source="distill.yaml", base_dir=folder)


def _distill(*args: str) -> None:
    assert main(["-q", *args]) == 0


def _assert_on_base(app: Image, base: Image) -> None:
    """The app starts with the base's layers and history and keeps its runtime settings."""
    validate(app)
    assert [layer.digest for layer in app.layers[: len(base.layers)]] == \
        [layer.digest for layer in base.layers]
    assert len(app.layers) == len(base.layers) + 1
    assert app.config["history"][: len(base.layers)] == base.config["history"]
    for key in BASE_KEYS:
        assert app.config["config"][key] == base.config["config"][key]
    assert app.config["config"]["Entrypoint"] == ["/hello"]
    assert app.annotations["org.opencontainers.image.base.digest"] == base.digest
    assert app.annotations["io.distill.base.layers"] == str(len(base.layers))


@pytest.fixture(scope="session")
def oci_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """static:nonroot (host arch) written by `distill base` to an OCI layout."""
    layout = tmp_path_factory.mktemp("oci-base") / "layout"
    _distill("base", "static:nonroot", "--arch", host_architecture(), "-o",
             f"oci:{layout}:nonroot")
    return layout


@pytest.fixture(scope="session")
def registry_base(plain_registry: Any) -> str:
    """static:nonroot for amd64 and arm64 pushed as an index to the plain registry."""
    reference = f"docker://{plain_registry.host}/bases/static:nonroot"
    _distill("base", "static:nonroot", "--arch", "amd64,arm64", "-o", reference)
    return reference


@pytest.mark.mirror
@pytest.mark.docker
def test_app_on_an_oci_layout_base_runs_in_docker(
    oci_base: Path, static_hello: bytes, tmp_path: Path, docker_cli: Docker,
    docker_names: Callable[[str], str],
) -> None:
    config = _app(tmp_path / "app", static_hello, f"oci:{oci_base}:nonroot")
    result = build(config)
    base = read_artifact(parse_reference(f"oci:{oci_base}:nonroot"), tmp_path / "work")
    assert isinstance(base, Image) and isinstance(result.artifact, Image)
    _assert_on_base(result.artifact, base)
    assert base.config["config"]["User"].startswith("65532")
    name = docker_names("oci-base")
    write_artifact(result.artifact, parse_reference(f"docker-daemon:{name}"))
    ran = docker_cli("run", "--rm", "--network", "none", name)
    assert (ran.returncode, ran.stdout) == (0, "hello from distill\n"), ran.stderr
    whoami = docker_cli("image", "inspect", "--format", "{{.Config.User}}", name)
    assert whoami.stdout.strip() == base.config["config"]["User"]


@pytest.mark.mirror
def test_config_keys_override_the_base_and_variant_applies_only_when_set(
    oci_base: Path, static_hello: bytes, tmp_path: Path,
) -> None:
    config = _app(tmp_path / "app", static_hello, f"oci:{oci_base}:nonroot", variant="latest",
                  workdir="/srv", env={"TZ": "Europe/Paris"}, cmd=["--flag"])
    image = build(config).artifact
    assert isinstance(image, Image)
    settings = image.config["config"]
    assert (settings["User"], settings["WorkingDir"], settings["Cmd"]) == ("0:0", "/srv",
                                                                          ["--flag"])
    assert "TZ=Europe/Paris" in settings["Env"]
    assert any(item.startswith("SSL_CERT_FILE=") for item in settings["Env"])


@pytest.mark.mirror
@pytest.mark.docker
def test_multi_arch_app_on_a_registry_base_runs_in_docker(
    registry_base: str, plain_registry: Any, static_hello: bytes, tmp_path: Path,
    docker_cli: Docker,
) -> None:
    config = _app(tmp_path / "app", static_hello, registry_base, archs=["amd64", "arm64"])
    result = build(config)
    assert isinstance(result.artifact, ImageIndex)
    base = pull(host=plain_registry.host, repository="bases/static", tag="nonroot",
                work_dir=tmp_path / "pulled")
    assert isinstance(base, ImageIndex)
    by_arch = {image.platform.architecture: image for image in base.images}
    assert [i.platform.architecture for i in result.images] == ["amd64", "arm64"]
    for image in result.images:
        _assert_on_base(image, by_arch[image.platform.architecture])
    validate(result.artifact)
    push(result.artifact, host=plain_registry.host, repository="apps/on-remote", tag="1")
    name = f"{plain_registry.host}/apps/on-remote:1"
    try:
        pulled = docker_cli("pull", name)
        assert pulled.returncode == 0, pulled.stderr
        ran = docker_cli("run", "--rm", "--network", "none", name)
        assert (ran.returncode, ran.stdout) == (0, "hello from distill\n"), ran.stderr
    finally:
        docker_cli("rmi", "-f", name)


@pytest.mark.mirror
def test_lock_pins_a_registry_base_and_locked_refuses_when_it_moves(
    plain_registry: Any, static_hello: bytes, tmp_path: Path,
) -> None:
    moving = f"docker://{plain_registry.host}/bases/moving:1"
    _distill("base", "static:nonroot", "--arch", "amd64", "-o", moving)
    config = _app(tmp_path / "app", static_hello, moving)
    lock_path = tmp_path / "app" / "distill.lock"
    lock(config, lock_path=lock_path)
    first = build(config, lock_path=lock_path, locked=True)
    assert first.images[0].annotations["org.opencontainers.image.base.name"] == moving
    _distill("base", "static:latest", "--arch", "amd64", "-o", moving)
    with pytest.raises(LockError, match=r"bases/moving:1 \(amd64\) is now sha256:"):
        build(config, lock_path=lock_path, locked=True)
    lock(config, lock_path=lock_path)
    assert build(config, lock_path=lock_path, locked=True).artifact.digest \
        != first.artifact.digest


@pytest.mark.mirror
def test_a_base_without_the_build_architecture_is_a_config_error(
    oci_base: Path, static_hello: bytes, tmp_path: Path,
) -> None:
    other = "arm64" if host_architecture() == "amd64" else "amd64"
    config = _app(tmp_path / "app", static_hello, f"oci:{oci_base}:nonroot", archs=[other])
    with pytest.raises(ConfigError, match=f"the build asks for {other}"):
        build(config)
