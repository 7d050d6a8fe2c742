"""Fixtures of the tests of distill's own image (image/distill.yaml): the image, built once
by the repository's distill and loaded into the engine, and the registries to push to."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.e2e import REPO, run_distill

# The real registries of the registry tests (plain and TLS with htpasswd), shared from there.
from transports.registry.conftest import (  # noqa: F401
    plain_registry,
    secure_registry,
    start_registry,
)

IMAGE_CONFIG = REPO / "image" / "distill.yaml"


@pytest.fixture(scope="session")
def distill_image(docker_cli: Callable[..., object], distill_cache_root: Path,
                  host_mirror: str) -> Iterator[str]:
    """``distill:test-image-<pid>``: distill's own image, loaded into the engine."""
    name = f"distill:test-image-{os.getpid()}"
    run = run_distill("-q", "build", "-f", str(IMAGE_CONFIG), "-o", f"docker-daemon:{name}",
                      cache=distill_cache_root)
    if run.code != 0:
        pytest.fail(run.describe())
    yield name
    docker_cli("image", "rm", "--force", name, check=False)


@pytest.fixture
def volumes(docker_cli: Callable[..., object]) -> Iterator[Callable[[str], str]]:
    """``volumes(role) -> name``: fresh named volumes, removed after the test."""
    made: list[str] = []

    def make(role: str) -> str:
        name = f"distill-test-image-{role}-{uuid.uuid4().hex[:12]}"
        docker_cli("volume", "create", name)
        made.append(name)
        return name

    yield make
    for name in made:
        docker_cli("volume", "rm", "--force", name, check=False)
