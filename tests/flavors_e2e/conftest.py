"""Fixtures of the flavor proofs: images built once per session and loaded into Docker."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from distill.assembly.pipeline import BuildResult, build
from distill.config import parse_config
from distill.oci.reference import parse_reference
from distill.transports import write_artifact
from support.tls import make_test_ca

BuildImage = Callable[..., BuildResult]
LoadImage = Callable[..., str]


@pytest.fixture(scope="session")
def build_flavor(host_mirror: str) -> BuildImage:
    """``build_flavor(flavor, variant="latest", *, release, archs, certificates)``: a build,
    made once per session for the same arguments."""
    built: dict[tuple[object, ...], BuildResult] = {}

    def make(flavor: str, variant: str = "latest", *, release: str = "bookworm",
             archs: Sequence[str] = ("amd64",), certificates: Sequence[Path] = ()) -> BuildResult:
        key = (flavor, variant, release, tuple(archs), tuple(certificates))
        if key not in built:
            config = parse_config(
                {"name": f"e2e-{flavor}", "base": flavor, "variant": variant,
                 "release": release, "archs": list(archs),
                 "certificates": [str(c) for c in certificates]},
                source="flavors_e2e", base_dir=Path("/"),
            )
            built[key] = build(config)
        return built[key]

    return make


@pytest.fixture(scope="session")
def flavor_image(build_flavor: BuildImage, docker_cli: object) -> LoadImage:
    """``flavor_image(flavor, variant="latest", *, release, arch, certificates)``: the
    name of the image loaded into the Docker engine."""
    loaded: dict[tuple[object, ...], str] = {}

    def load(flavor: str, variant: str = "latest", *, release: str = "bookworm",
             arch: str = "amd64", certificates: Sequence[Path] = ()) -> str:
        key = (flavor, variant, release, arch, tuple(certificates))
        if key not in loaded:
            result = build_flavor(flavor, variant, release=release, archs=(arch,),
                                  certificates=certificates)
            suffix = "-certs" if certificates else ""
            name = f"distill-e2e/{flavor}-{release}-{arch}{suffix}:{variant}"
            write_artifact(result.images[0], parse_reference(f"docker-daemon:{name}"))
            loaded[key] = name
        return loaded[key]

    return load


@pytest.fixture(scope="session")
def image_paths(docker_cli: object) -> Callable[[str], set[str]]:
    """``image_paths(image)``: every path of the image's file system."""
    return exported_paths


def exported_paths(image: str) -> set[str]:
    """Every path in the image's file system (``docker export`` of a created container)."""
    created = subprocess.run(["docker", "create", "--entrypoint", "/nonexistent", image],
                             capture_output=True, text=True, check=True).stdout.strip()
    try:
        exported = subprocess.run(["docker", "export", created], capture_output=True,
                                  check=True).stdout
    finally:
        subprocess.run(["docker", "rm", created], capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        return {"/" + name.rstrip("/") for name in tar.getnames()}


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ca.pem, and leaf.pem/leaf.key for 127.0.0.1 and localhost, signed by it."""
    return make_test_ca(tmp_path_factory.mktemp("test-ca")).ca.parent
