"""Fixtures for the end-to-end tests (helpers live in e2e_support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_support import (
    ARCH,
    HELLO_SOURCE,
    ServedRepo,
    SignedRepo,
    make_signed_repo,
    serve_repo,
)


@pytest.fixture(scope="session")
def hello_binary(go_build: Callable[..., Path]) -> Path:
    """The example Go HTTP server (examples/hello/main.go), static (CGO_ENABLED=0)."""
    return go_build(HELLO_SOURCE.read_text(encoding="utf-8"), arch=ARCH, cgo=False)


@pytest.fixture(scope="session")
def signed_repo(
    tmp_path_factory: pytest.TempPathFactory, require_tool: Callable[[str], Path],
    host_mirror: str,
) -> Iterator[SignedRepo]:
    """A signed repository of the static flavor's real .debs (built once per session)."""
    for tool in ("gpg", "gpgv", "gpgconf", "apt-get", "dpkg-scanpackages"):
        require_tool(tool)
    repo, keys = make_signed_repo(tmp_path_factory.mktemp("signed-repo"))
    try:
        yield repo
    finally:
        for key in keys:
            key.stop_agent()


@pytest.fixture
def served_repo(signed_repo: SignedRepo, tmp_path: Path) -> Iterator[ServedRepo]:
    """A private copy of :func:`signed_repo` that one test may alter, served over HTTP."""
    served = serve_repo(signed_repo, tmp_path / "served")
    yield served
    served.stop()
