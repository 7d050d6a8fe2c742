"""A FastAPI app (pydantic-core is compiled) packaged by ``distill python``, run in Docker.

The app answers HTTP on loopback as nonroot, with a subpackage named ``build``
(only the project's top-level build output is left out); a one-line code change
rebuilds only the project layer. Wheels come from PyPI through pip, Debian packages from
the host's mirror; the layer store is private to this module so the blobs a
rebuild writes can be counted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from distill.assembly.pipeline import BuildResult, build
from distill.config import Config, parse_config

_DISTILL = [sys.executable, "-c", "from distill.cli.main import run; run()"]

PYPROJECT = """\
[project]
name = "hello-api"
version = "1.0.0"
description = "FastAPI demo"
dependencies = ["fastapi", "uvicorn"]

[project.scripts]
hello-api = "hello_api.main:run"
"""

MAIN = """\
import importlib.metadata
import os
import sys

import pydantic_core
import uvicorn
from fastapi import FastAPI

from hello_api.build import STEP

app = FastAPI()
GREETING = "hello"


@app.get("/")
def root() -> dict[str, object]:
    return {
        "greeting": GREETING,
        "step": STEP,
        "uid": os.getuid(),
        "python": "%d.%d" % sys.version_info[:2],
        "pydantic_core": pydantic_core.__version__,
        "pydantic_core_file": pydantic_core._pydantic_core.__file__,
        "version": importlib.metadata.version("hello-api"),
        "fastapi_files": len(importlib.metadata.files("fastapi") or []),
        "cached": pydantic_core.__cached__,
    }


def run() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
"""


def _project(folder: Path, greeting: str = "hello") -> Path:
    (folder / "src" / "hello_api").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "src" / "hello_api" / "__init__.py").write_text("")
    (folder / "src" / "hello_api" / "build").mkdir(exist_ok=True)
    (folder / "src" / "hello_api" / "build" / "__init__.py").write_text('STEP = "kept"\n')
    for output in ("build", "dist"):  # the project's own build output, left out
        (folder / output).mkdir(exist_ok=True)
        (folder / output / "junk.txt").write_text("junk\n")
    (folder / "src" / "hello_api" / "main.py").write_text(
        MAIN.replace('GREETING = "hello"', f'GREETING = "{greeting}"'))
    return folder


@pytest.fixture(scope="module")
def private_cache(distill_cache_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache whose layer store is private; Debian and pip downloads are shared."""
    root = tmp_path_factory.mktemp("python-cache")
    for shared in ("debian", "python"):
        (distill_cache_root / shared).mkdir(parents=True, exist_ok=True)
        (root / shared).symlink_to(distill_cache_root / shared, target_is_directory=True)
    return root


@pytest.fixture
def use_private_cache(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DISTILL_CACHE", str(private_cache))
    return private_cache


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _distill(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISTILL_CACHE": str(cache)}
    return subprocess.run([*_DISTILL, *args], capture_output=True, text=True, env=env,
                          timeout=1800, check=False)


@pytest.fixture(scope="module")
def api_image(host_mirror: str, docker_cli: Callable[..., subprocess.CompletedProcess[str]],
              private_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``distill python`` loads the app into Docker as distill-test/hello-api:1."""
    project = _project(tmp_path_factory.mktemp("api"))
    tag = "distill-test/hello-api:1"
    run = _distill("-q", "python", str(project), "-o", f"docker-daemon:{tag}",
                   cache=private_cache)
    assert run.returncode == 0, run.stderr
    yield tag
    docker_cli("rmi", "-f", tag, check=False)


def _get(url: str, container: str, docker_cli: Callable[..., subprocess.CompletedProcess[str]]
         ) -> dict[str, object]:
    for _ in range(300):
        try:
            response = httpx.get(url, timeout=2)
            result: dict[str, object] = response.json()
            return result
        except httpx.HTTPError:
            state = docker_cli("inspect", "-f", "{{.State.Running}}", container, check=False)
            if state.stdout.strip() != "true":
                logs = docker_cli("logs", container, check=False)
                pytest.fail(f"the app exited: {logs.stdout}{logs.stderr}")
            time.sleep(0.2)
    pytest.fail(f"no answer from {url}")


@pytest.mark.docker
@pytest.mark.mirror
def test_fastapi_app_answers_on_loopback_as_nonroot(
        api_image: str, docker_cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    port = _free_port()
    name = f"distill-hello-api-{port}"
    docker_cli("run", "-d", "--rm", "--name", name, "--network", "host", "-e", f"PORT={port}",
               api_image)
    try:
        answer = _get(f"http://127.0.0.1:{port}/", name, docker_cli)
    finally:
        docker_cli("rm", "-f", name, check=False)
    assert answer["greeting"] == "hello" and answer["uid"] == 65532
    assert answer["step"] == "kept"
    assert answer["python"] == "3.11" and answer["version"] == "1.0.0"
    assert str(answer["pydantic_core_file"]).startswith(
        "/usr/local/lib/python3.11/dist-packages/pydantic_core/_pydantic_core.cpython-311-x86_64")
    assert int(str(answer["fastapi_files"])) > 10


@pytest.mark.docker
@pytest.mark.mirror
def test_image_has_bytecode_metadata_and_no_pip(
        api_image: str, docker_cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    script = ("import importlib.metadata as m, importlib.util as u, pathlib, json, sys;"
              "site = pathlib.Path('/usr/local/lib/python3.11/dist-packages');"
              "print(json.dumps({'dists': sorted(d.metadata['Name'].lower().replace('_', '-')"
              " for d in m.distributions()), 'pip': u.find_spec('pip') is not None,"
              "'pycs': len(list(site.rglob('*.cpython-311.pyc'))),"
              "'app_pycs': len(list(pathlib.Path('/app').rglob('*.pyc'))),"
              "'outputs': [p for p in ('/app/build', '/app/dist') if pathlib.Path(p).exists()],"
              "'flags': [int.from_bytes(p.read_bytes()[4:8], 'little') for p in "
              "list(site.rglob('*.pyc'))[:20]]}))")
    result = docker_cli("run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/python3",
                        api_image, "-c", script)
    facts = json.loads(result.stdout)
    assert {"fastapi", "uvicorn", "pydantic-core", "hello-api"} <= set(facts["dists"])
    assert not {"pip", "setuptools", "wheel"} & set(facts["dists"]) and not facts["pip"]
    assert facts["pycs"] > 100 and facts["app_pycs"] == 3 and facts["outputs"] == []
    assert set(facts["flags"]) == {1}
    config = json.loads(docker_cli("inspect", api_image).stdout)[0]["Config"]
    assert config["Entrypoint"] == ["/usr/local/bin/hello-api"]
    assert config["User"].split(":")[0] == "65532" and config["WorkingDir"] == "/app"


def _config(project: Path) -> Config:
    return parse_config({"name": "hello-api", "app": {"type": "python", "path": str(project)}},
                        source="test", base_dir=project)


def _blobs(cache: Path) -> set[str]:
    folder = cache / "layers" / "blobs" / "sha256"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.mark.mirror
def test_a_code_change_rebuilds_only_the_project_layer(
        use_private_cache: Path, tmp_path: Path) -> None:
    project = _project(tmp_path / "api")
    first: BuildResult = build(_config(project))
    again = build(_config(project))
    assert again.images[0].digest == first.images[0].digest
    before = _blobs(use_private_cache)
    (project / "src" / "hello_api" / "main.py").write_text(
        MAIN.replace('GREETING = "hello"', 'GREETING = "hello again"'))
    second = build(_config(project))
    old, new = first.images[0].layers, second.images[0].layers
    assert len(old) == len(new)
    assert [layer.digest for layer in old[:-1]] == [layer.digest for layer in new[:-1]]
    assert old[-1].digest != new[-1].digest
    assert _blobs(use_private_cache) - before == {new[-1].digest.removeprefix("sha256:")}
    assert new[-1].size < 10_000 < new[-2].size
