"""The busybox image of ``distill debug``: built by distill into the real engine once,
then found there and reused.

The test uses trixie's image: the ``distill debug`` tests use bookworm's, which
this test must not remove under them when tests run in parallel."""

from __future__ import annotations

from typing import Any

import pytest

from distill.debug.image import IMAGE_NAME, ensure_image, image_tag
from distill.transports import docker_daemon

RELEASE = "trixie"


@pytest.mark.mirror
@pytest.mark.docker
def test_the_busybox_image_is_built_once_then_reused(docker_cli: Any) -> None:
    arch = docker_cli("version", "--format", "{{.Server.Arch}}").stdout.strip()
    reference = f"{IMAGE_NAME}:{image_tag(release=RELEASE, arch=arch)}"
    docker_cli("rmi", "--force", reference, check=False)
    try:
        with docker_daemon.open_client() as client:
            first = ensure_image(client, release=RELEASE, arch=arch)
            again = ensure_image(client, release=RELEASE, arch=arch)
        shell = docker_cli("run", "--rm", "--network", "none", reference, "-c",
                           "readlink /busybox/wget; echo $PATH").stdout.split()
    finally:
        docker_cli("rmi", "--force", reference, check=False)
    assert (first.reference, first.built) == (reference, True)
    assert (again.reference, again.built) == (reference, False)
    assert shell[0] == "busybox" and "/busybox" in shell[1].split(":")
