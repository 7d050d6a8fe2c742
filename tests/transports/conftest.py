"""Fixtures for the transport tests: small real layers and images, tools, a Docker engine."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from distill.oci.config import HealthCheck, HistoryEntry, RuntimeConfig, config_bytes
from distill.oci.model import Artifact, Image, Layer, Platform
from distill.oci.validate import validate
from distill.transports import docker_daemon

LayerFactory = Callable[[Mapping[str, bytes | tuple[bytes, int]]], Layer]
ImageFactory = Callable[..., Image]

RUNTIME = RuntimeConfig(
    user="65532",
    env=("PATH=/usr/bin:/bin", "TZ=UTC"),
    entrypoint=("/hello",),
    working_dir="/",
    healthcheck=HealthCheck(test=("CMD", "/hello", "--health"), interval_ns=30_000_000_000),
)


def tar_bytes(files: Mapping[str, bytes | tuple[bytes, int]]) -> bytes:
    """A deterministic tar of ``files`` (path -> content or (content, mode))."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            value = files[name]
            data, mode = value if isinstance(value, tuple) else (value, 0o644)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_layer(directory: Path, files: Mapping[str, bytes | tuple[bytes, int]]) -> Layer:
    """Write a gzip layer of ``files`` into ``directory`` and describe it."""
    raw = tar_bytes(files)
    blob = gzip.compress(raw, mtime=0)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    path = directory / f"{digest[7:]}.tar.gz"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return Layer(
        digest=digest,
        size=len(blob),
        diff_id="sha256:" + hashlib.sha256(raw).hexdigest(),
        uncompressed_size=len(raw),
        path=path,
    )


def build_image(
    layers: tuple[Layer, ...],
    *,
    arch: str = "amd64",
    runtime: RuntimeConfig = RUNTIME,
    annotations: Mapping[str, str] | None = None,
) -> Image:
    """An image of ``layers`` with a real config document."""
    platform = Platform(architecture=arch)
    config = config_bytes(
        platform=platform,
        runtime=runtime,
        diff_ids=[layer.diff_id for layer in layers],
        history=[HistoryEntry(created_by=f"layer {i}") for i in range(len(layers))],
        created=0,
    )
    return Image(
        config_bytes=config, layers=layers, platform=platform, annotations=annotations or {}
    )


def check(artifact: Artifact) -> None:
    """Validate ``artifact`` with distill.oci.validate (every invariant of an image)."""
    validate(artifact)


@pytest.fixture
def make_image() -> ImageFactory:
    """The :func:`build_image` factory."""
    return build_image


@pytest.fixture
def oracle() -> Callable[[Artifact], None]:
    """The validation oracle: distill.oci.validate.validate."""
    return check


@pytest.fixture
def skopeo() -> str:
    """Path of skopeo, or skip."""
    return need_tool("skopeo")


@pytest.fixture
def umoci() -> str:
    """Path of umoci, or skip."""
    return need_tool("umoci")


@pytest.fixture
def make_layer(tmp_path: Path) -> LayerFactory:
    """Factory of gzip layers stored under tmp_path/layers."""
    return lambda files: write_layer(tmp_path / "layers", files)


@pytest.fixture
def image(make_layer: LayerFactory) -> Image:
    """A two-layer amd64 image."""
    base = make_layer({"etc/os-release": b"ID=test\n", "etc/passwd": b"root:x:0:0::/root:/x\n"})
    app = make_layer({"hello": (b"#!/bin/false\n", 0o755)})
    return build_image((base, app))


def need_tool(name: str) -> str:
    """The path of ``name``, or skip the test when it is not installed."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture(scope="session")
def static_hello(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A static x86-64/arm64 binary (host arch) that prints a line and exits 0."""
    gcc = need_tool("gcc")
    work = tmp_path_factory.mktemp("hello")
    source = work / "hello.c"
    source.write_text(
        '#include <stdio.h>\nint main(void) { puts("hello from distill"); return 0; }\n'
    )
    binary = work / "hello"
    result = subprocess.run(
        [gcc, "-static", "-Os", "-o", str(binary), str(source)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"gcc -static failed (static libc missing?): {result.stderr.strip()}")
    return binary.read_bytes()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Path]:
    """The Docker engine's socket; skip (or fail with DISTILL_REQUIRE_DOCKER=1) without one."""
    socket = docker_daemon.socket_path()
    if not docker_daemon.available():
        reason = f"no Docker engine answers at {socket}"
        if os.environ.get("DISTILL_REQUIRE_DOCKER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield socket


@pytest.fixture
def docker_names(docker_engine: Path) -> Iterator[Callable[[str], str]]:
    """Factory of unique ``name:tag`` strings; the images are removed from the engine after."""
    created: list[str] = []

    def fresh(label: str) -> str:
        name = f"distill-test/{label}:{os.getpid()}-{len(created)}"
        created.append(name)
        return name

    yield fresh
    with docker_daemon.open_client() as client:
        for name in created:
            client.delete(f"/images/{name}", params={"force": "1"})


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI against the engine distill uses."""
    env = {**os.environ, "DOCKER_HOST": f"unix://{docker_daemon.socket_path()}"}
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env)


@pytest.fixture
def docker_cli(docker_engine: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The docker CLI (skips when the docker command is missing)."""
    need_tool("docker")
    return docker
