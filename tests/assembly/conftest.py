"""Fixtures of the build tests: the example's configuration with a tiny static C
program instead of the Go server, and a cache of their own for the layer store.

The private cache's ``debian`` folder is a link to the shared test cache's, so
mirror downloads are shared while the layer store starts empty and is seen only
by this worker (its blob folder can be compared before and after a build).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from distill.assembly.pipeline import BuildResult, build
from distill.config import Config, load_config

REPO = Path(__file__).resolve().parent.parent.parent
HELLO_YAML = REPO / "examples" / "hello" / "distill.yaml"

HELLO_C = """\
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--health-check") == 0) return 0;
    puts("hello from distill");
    return 0;
}
"""

HELLO_C_V2 = HELLO_C.replace("hello from distill", "hello again from distill")


@contextlib.contextmanager
def cache_env(root: Path) -> Iterator[None]:
    """Set ``DISTILL_CACHE`` to ``root`` for the duration of the block."""
    before = os.environ.get("DISTILL_CACHE")
    os.environ["DISTILL_CACHE"] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DISTILL_CACHE", None)
        else:
            os.environ["DISTILL_CACHE"] = before


def hello_project(folder: Path, binary: Path) -> Path:
    """A copy of examples/hello's distill.yaml in ``folder`` with ``binary`` as build/hello."""
    (folder / "build").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(binary, folder / "build" / "hello")
    config_file = folder / "distill.yaml"
    shutil.copyfile(HELLO_YAML, config_file)
    return config_file


HelloProject = Callable[[Path, Path], Path]


@pytest.fixture(scope="session")
def make_hello_project() -> HelloProject:
    """``make_hello_project(folder, binary) -> distill.yaml path``: see :func:`hello_project`."""
    return hello_project


@pytest.fixture(scope="session")
def hello_binary(c_build: Callable[..., Path]) -> Path:
    """A static C program that answers ``--health-check``."""
    return c_build(HELLO_C, static=True)


@pytest.fixture(scope="session")
def hello_binary_v2(c_build: Callable[..., Path]) -> Path:
    """The same program with another message (another app layer)."""
    return c_build(HELLO_C_V2, static=True)


@pytest.fixture(scope="session")
def hello_config(
    hello_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Config:
    """examples/hello's configuration with :func:`hello_binary` as the app."""
    return load_config(hello_project(tmp_path_factory.mktemp("hello"), hello_binary))


@pytest.fixture(scope="session")
def hello_build(host_mirror: str, hello_config: Config, private_layers_cache: Path) -> BuildResult:
    """The example built once for the session (amd64) in :func:`private_layers_cache`."""
    with cache_env(private_layers_cache):
        return build(hello_config)
