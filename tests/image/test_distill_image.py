"""distill's own image (image/distill.yaml) in Docker: read-only root, uid 65532, only
the cache and output volumes writable, and the same digests as the host's distill."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.transports import parse_reference, read_artifact
from distill.transports.registry import Credentials, RegistryClient, RegistryOptions
from support.e2e import run_distill
from transports.registry.conftest import PASSWORD, USER

pytestmark = [pytest.mark.docker, pytest.mark.mirror]

EPOCH = 1700000000
HOST_APT = ["-v", "/etc/apt:/etc/apt:ro", "-v", "/usr/share/keyrings:/usr/share/keyrings:ro"]
Docker = Callable[..., subprocess.CompletedProcess[str]]


def _in_container(docker_cli: Docker, image: str, mounts: Sequence[str], *args: str,
                  env: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """``distill ARGS`` in the image as a CI runner or a pod runs it: read-only, uid 65532."""
    return docker_cli("run", "--rm", "--read-only", "-u", "65532", "--network", "host",
                      "-e", f"SOURCE_DATE_EPOCH={EPOCH}", *env, *mounts, image, "-q", *args,
                      check=False)


def _volume_path(docker_cli: Docker, name: str) -> Path:
    return Path(docker_cli("volume", "inspect", "--format", "{{.Mountpoint}}",
                           name).stdout.strip())


def _host_digest(tmp_path: Path, cache: Path, *args: str) -> str:
    out = tmp_path / "host-build"
    run = run_distill("-q", *args, "-o", f"oci:{out}", cache=cache, epoch=EPOCH)
    assert run.code == 0, run.describe()
    return read_artifact(parse_reference(f"oci:{out}"), tmp_path / "host-read").digest


def test_the_image_runs_distill_as_65532_with_its_cache_and_output_volumes(
    docker_cli: Docker, distill_image: str,
) -> None:
    config = json.loads(docker_cli("image", "inspect", "--format", "{{json .Config}}",
                                   distill_image).stdout)
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"][-1].endswith("/distill")
    assert {"DISTILL_CACHE=/cache", "TMPDIR=/cache/tmp", "DOCKER_CONFIG=/config"} <= set(
        config["Env"])
    version = docker_cli("run", "--rm", "--read-only", "--network", "none", distill_image,
                         "--version")
    assert version.stdout.startswith("distill, version")


def test_the_container_builds_the_hosts_digest_on_a_read_only_root(
    docker_cli: Docker, distill_image: str, volumes: Callable[[str], str], tmp_path: Path,
    distill_cache_root: Path,
) -> None:
    cache, out = volumes("cache"), volumes("out")
    run = _in_container(docker_cli, distill_image,
                        ["-v", f"{cache}:/cache", "-v", f"{out}:/out", *HOST_APT],
                        "base", "static:nonroot", "-o", "oci:/out/static")
    assert run.returncode == 0, run.stderr
    built = read_artifact(parse_reference(f"oci:{_volume_path(docker_cli, out)}/static"),
                          tmp_path / "read")
    assert built.digest == _host_digest(tmp_path, distill_cache_root, "base", "static:nonroot")
    assert any((_volume_path(docker_cli, cache) / "layers").iterdir())  # the cache volume


def test_the_container_pushes_with_credentials_from_a_mounted_docker_config(
    docker_cli: Docker, distill_image: str, volumes: Callable[[str], str], tmp_path: Path,
    secure_registry: Any, distill_cache_root: Path,
) -> None:
    assert secure_registry.ca is not None
    config = tmp_path / "docker-config"
    config.mkdir(mode=0o755)
    auth = Credentials(username=USER, password=PASSWORD).basic_header().removeprefix("Basic ")
    (config / "config.json").write_text(json.dumps({"auths": {secure_registry.host:
                                                              {"auth": auth}}}))
    shutil.copy(secure_registry.ca, config / "ca.crt")
    for path in (config / "config.json", config / "ca.crt"):
        path.chmod(0o644)
    target = f"{secure_registry.host}/image/static:nonroot"
    run = _in_container(docker_cli, distill_image,
                        ["-v", f"{volumes('cache')}:/cache", "-v", f"{volumes('out')}:/out",
                         "-v", f"{config}:/config:ro", *HOST_APT],
                        "base", "static:nonroot", "-o", f"docker://{target}",
                        env=["-e", "DISTILL_REGISTRY_CA=/config/ca.crt"])
    assert run.returncode == 0, run.stderr
    options = RegistryOptions.from_environment(ca_file=secure_registry.ca)
    with RegistryClient(secure_registry.host, options=options,
                        credentials=Credentials(username=USER, password=PASSWORD)) as client:
        pushed = client.manifest_digest("image/static", "nonroot")
    assert pushed == _host_digest(tmp_path, distill_cache_root, "base", "static:nonroot")


def test_repositories_in_the_config_need_no_apt_sources_and_an_empty_cache_works(
    docker_cli: Docker, distill_image: str, volumes: Callable[[str], str], tmp_path: Path,
    host_mirror: str, distill_cache_root: Path,
) -> None:
    """No /etc/apt mounted: Debian's keyring is in the image. The cache is an empty folder
    (a Kubernetes emptyDir), so distill makes TMPDIR itself."""
    project = tmp_path / "project"
    project.mkdir(mode=0o755)
    (project / "distill.yaml").write_text(yaml.safe_dump({
        "name": "from-repositories", "base": "static", "variant": "nonroot",
        "repositories": [{"url": host_mirror, "suites": ["bookworm"], "components": ["main"],
                          "keyring": "/usr/share/keyrings/debian-archive-keyring.gpg"}],
    }))
    (project / "distill.yaml").chmod(0o644)
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    shutil.chown(cache, 65532, 65532)
    out = volumes("out")
    run = _in_container(docker_cli, distill_image,
                        ["-v", f"{cache}:/cache", "-v", f"{out}:/out",
                         "-v", f"{project}:/project:ro"],
                        "build", "-f", "/project/distill.yaml", "-o", "oci:/out/app")
    assert run.returncode == 0, run.stderr
    assert (cache / "tmp").is_dir()
    built = read_artifact(parse_reference(f"oci:{_volume_path(docker_cli, out)}/app"),
                          tmp_path / "read")
    assert built.digest == _host_digest(tmp_path, distill_cache_root, "build", "-f",
                                        str(project / "distill.yaml"))
