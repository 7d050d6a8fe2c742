"""Fixtures for the end-to-end tests (helpers live in tests/support/e2e.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.e2e import (
    ARCH,
    HELLO_SOURCE,
    HelloImage,
    ServedRepo,
    SignedRepo,
    hello_config,
    make_signed_repo,
    run_distill,
    serve_repo,
    write_project,
)


@pytest.fixture(scope="session")
def hello_binary(go_build: Callable[..., Path]) -> Path:
    """The example Go HTTP server (examples/hello/main.go), static (CGO_ENABLED=0)."""
    return go_build(HELLO_SOURCE.read_text(encoding="utf-8"), arch=ARCH, cgo=False)


@pytest.fixture(scope="session")
def hello_image(
    hello_binary: Path, tmp_path_factory: pytest.TempPathFactory, distill_cache_root: Path,
    host_mirror: str,
) -> HelloImage:
    """The Go server on static:nonroot, built once as oci: and docker-archive: outputs."""
    work = tmp_path_factory.mktemp("hello-image")
    tag = f"e2e-{os.getpid()}"
    config = write_project(work / "project", hello_config(name="distill-e2e-hello", version=tag),
                           files={"hello": hello_binary})
    layout, archive = work / "out" / "layout", work / "out" / "hello.tar"
    run = run_distill("build", "-f", str(config), "-o", f"oci:{layout}",
                      "-o", f"docker-archive:{archive}", cache=distill_cache_root)
    if run.code != 0:
        pytest.fail(run.describe())
    return HelloImage(config=config, name="distill-e2e-hello", tag=tag, layout=layout,
                      archive=archive)


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
