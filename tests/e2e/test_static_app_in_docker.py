"""A static Go server on static:nonroot in a real Docker engine: healthy, non-root, no shell."""

from __future__ import annotations

import json
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.docker import wait_for_health
from support.e2e import HelloImage, run_distill

pytestmark = [pytest.mark.mirror, pytest.mark.docker, pytest.mark.tools("go")]

NONROOT = 65532
"""Polls of the health status, 0.5 s apart: an upper bound, never a timing target."""


def _run_report(docker_cli: Any, image: str, *env: str) -> str:
    flags = [item for pair in (("-e", e) for e in env) for item in pair]
    return str(docker_cli("run", "--rm", "--network", "none", *flags, image,
                          "--report").stdout)


@pytest.fixture(scope="module")
def loaded(hello_image: HelloImage, docker_cli: Any) -> Iterator[str]:
    """The docker-archive output, loaded with ``docker load``; yields its name:tag."""
    output = docker_cli("load", "--input", str(hello_image.archive)).stdout
    assert hello_image.reference in output, output
    yield hello_image.reference
    docker_cli("rmi", "--force", hello_image.reference, check=False)


@pytest.fixture(scope="module")
def from_daemon_sink(
    hello_image: HelloImage, docker_cli: Any, distill_cache_root: Path
) -> Iterator[str]:
    """The same configuration built straight into the engine with ``-o docker-daemon:``."""
    reference = f"{hello_image.name}:{hello_image.tag}-daemon"
    run = run_distill("build", "-f", str(hello_image.config), "-o", f"docker-daemon:{reference}",
                      cache=distill_cache_root)
    assert run.code == 0, run.describe()
    yield reference
    docker_cli("rmi", "--force", reference, check=False)


@pytest.fixture
def running(loaded: str, docker_cli: Any) -> Iterator[str]:
    """A detached container of the image; yields its name."""
    name = f"distill-e2e-{uuid.uuid4().hex[:12]}"
    docker_cli("run", "--detach", "--network", "none", "--name", name, loaded)
    yield name
    docker_cli("rm", "--force", name, check=False)


def _layer_paths(archive: Path) -> set[str]:
    with tarfile.open(archive) as outer:
        manifest_file = outer.extractfile("manifest.json")
        assert manifest_file is not None
        (manifest,) = json.load(manifest_file)
        paths: set[str] = set()
        for layer in manifest["Layers"]:
            blob = outer.extractfile(layer)
            assert blob is not None
            with tarfile.open(fileobj=blob, mode="r:*") as inner:
                paths |= {member.name.removeprefix("./").rstrip("/")
                          for member in inner.getmembers()}
    return paths


def test_docker_load_and_docker_daemon_give_the_same_image(
    docker_cli: Any, loaded: str, from_daemon_sink: str
) -> None:
    first = docker_cli("image", "inspect", "--format", "{{.Id}}", loaded).stdout.strip()
    second = docker_cli("image", "inspect", "--format", "{{.Id}}", from_daemon_sink).stdout
    assert first.startswith("sha256:") and first == second.strip()


def test_the_server_becomes_healthy_as_nonroot(docker_cli: Any, running: str) -> None:
    status = wait_for_health(docker_cli, running)
    assert status == "healthy", docker_cli("logs", running, check=False).stderr

    processes = docker_cli("top", running, "-o", "pid,uid,gid,args").stdout.splitlines()[1:]
    assert processes and all(line.split()[1:3] == [str(NONROOT), str(NONROOT)]
                             for line in processes), processes


def test_the_app_sees_uid_certificates_and_time_zones(docker_cli: Any, loaded: str) -> None:
    utc = _run_report(docker_cli, loaded)
    paris = _run_report(docker_cli, loaded, "TZ=Europe/Paris")

    assert f"uid={NONROOT} gid={NONROOT}" in utc
    assert int(utc.split("certs=")[1].split()[0]) > 100
    assert "tz=UTC noon-utc=12:00 UTC" in utc
    assert "tz=Europe/Paris noon-utc=14:00 CEST" in paris


def test_there_is_no_shell(docker_cli: Any, loaded: str, hello_image: HelloImage) -> None:
    for shell in ("sh", "/bin/sh", "/busybox/sh"):
        result = docker_cli("run", "--rm", "--network", "none", "--entrypoint", shell, loaded,
                            "-c", "true", check=False)
        assert result.returncode != 0, f"--entrypoint {shell} ran: {result.stdout}"
        assert "no such file" in result.stderr.lower() or "not found" in result.stderr.lower()

    paths = _layer_paths(hello_image.archive)
    assert "app/hello" in paths and "etc/passwd" in paths
    assert not {"bin/sh", "usr/bin/sh", "busybox", "busybox/sh"} & paths
    assert not any(path.startswith("busybox/") for path in paths)
