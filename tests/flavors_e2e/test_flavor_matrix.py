"""Layer sharing across flavors, the two-architecture index, and every flavor on trixie."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.oci.model import ImageIndex
from distill.oci.reference import parse_reference
from distill.transports import write_artifact

pytestmark = [pytest.mark.docker, pytest.mark.mirror]

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]
LoadImage = Callable[..., str]
BuildImage = Callable[..., object]

TRIXIE_CHECKS = {
    "static": None,
    "base-nossl": None,
    "base": None,
    "cc": None,
    "python3": ("-c", "import ssl, sqlite3, sys; print(sys.version_info[:2])"),
    "nodejs": ("-e", "console.log(process.versions.node.split('.')[0])"),
    "java": ("-version",),
}


def test_python3_and_cc_share_the_static_and_base_layers(build_flavor: BuildImage) -> None:
    cc = build_flavor("cc").images[0]  # type: ignore[attr-defined]
    python3 = build_flavor("python3").images[0]  # type: ignore[attr-defined]
    shared = [layer.digest for layer in cc.layers]
    assert len(shared) == 4  # static, base-nossl, base, cc
    assert [layer.digest for layer in python3.layers[:4]] == shared
    assert len(python3.layers) == 5


def test_two_architectures_make_one_index_and_arm64_runs(
    build_flavor: BuildImage, docker_cli: DockerCLI, go_build: Callable[..., Path]
) -> None:
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip("qemu-aarch64 binfmt is not enabled (scripts/install-system-deps does it)")
    result = build_flavor("cc", "debug", archs=("amd64", "arm64"))
    artifact = result.artifact  # type: ignore[attr-defined]
    assert isinstance(artifact, ImageIndex)
    assert [image.platform.architecture for image in artifact.images] == ["amd64", "arm64"]
    arm64 = artifact.images[1]
    write_artifact(arm64, parse_reference("docker-daemon:distill-e2e/cc-arm64:debug"))
    out = docker_cli("run", "--rm", "--network=none", "--platform=linux/arm64",
                     "distill-e2e/cc-arm64:debug", "-c", "uname -m; ls /usr/lib/aarch64-linux-gnu"
                     " | grep -c libstdc").stdout.split()
    assert out[0] == "aarch64" and int(out[1]) >= 1
    program = go_build('package main\nimport "fmt"\nfunc main() { fmt.Println("go arm64") }\n',
                       arch="arm64")
    out2 = docker_cli("run", "--rm", "--network=none", "--platform=linux/arm64",
                      "-v", f"{program}:/app:ro", "--entrypoint", "/app",
                      "distill-e2e/cc-arm64:debug").stdout
    assert out2.strip() == "go arm64"


@pytest.mark.parametrize("flavor", sorted(TRIXIE_CHECKS))
def test_every_flavor_runs_on_trixie(
    flavor_image: LoadImage, docker_cli: DockerCLI, flavor: str
) -> None:
    image = flavor_image(flavor, "debug", release="trixie")
    release = docker_cli("run", "--rm", "--network=none", "--entrypoint", "/busybox/cat", image,
                         "/etc/os-release").stdout
    assert 'VERSION_CODENAME=trixie' in release
    check = TRIXIE_CHECKS[flavor]
    if check is None:
        listing = "ls /usr/lib/x86_64-linux-gnu | grep -c '^libc.so.6$' || true"
        out = docker_cli("run", "--rm", "--network=none", image, "-c", listing).stdout
        assert out.strip() == ("0" if flavor == "static" else "1")
        return
    result = docker_cli("run", "--rm", "--network=none", image, *check)
    text = result.stdout + result.stderr
    expected = {"python3": "(3, 13)", "nodejs": "20", "java": 'version "21'}[flavor]
    assert expected in text
