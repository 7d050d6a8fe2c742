"""Python apps whose wheels link system libraries, built by ``distill python`` and run in Docker.

A wheel made here links libyaml (which no base has) and a library it bundles;
opencv-python from PyPI links libGL and glib, which manylinux lets wheels leave
out: distill adds their Debian packages, says so after the result table, and
the app imports and runs in a container without a network.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from support.native_apps import WHEEL_NAME, YAML_SONAME, native_wheel, python_project

_DISTILL = [sys.executable, "-c", "from distill.cli.main import run; run()"]
Docker = Callable[..., subprocess.CompletedProcess[str]]

OPENCV_MAIN = """\
import cv2
import numpy

image = numpy.zeros((64, 48, 3), dtype=numpy.uint8)
image[:, :24] = (0, 0, 255)
ok, png = cv2.imencode(".png", image)
decoded = cv2.imdecode(png, cv2.IMREAD_COLOR)
small = cv2.resize(decoded, (24, 32), interpolation=cv2.INTER_AREA)
print(cv2.__version__, ok, small.shape, int(small[0, 0, 2]), int(small[0, 23, 2]))
"""


def _distill(*args: str, cache: Path, env: Mapping[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DISTILL_CACHE": str(cache), **(env or {})}
    return subprocess.run([*_DISTILL, *args], capture_output=True, text=True, env=full,
                          timeout=3600, check=False)


def _built(project: Path, tag: str, *, cache: Path, docker: Docker,
           env: Mapping[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """Build ``project`` into the engine as ``tag``; yields (tag, distill's stdout)."""
    run = _distill("python", str(project), "--script", "main.py", "-o", f"docker-daemon:{tag}",
                   cache=cache, env=env)
    assert run.returncode == 0, run.stderr
    yield tag, run.stdout
    docker("rmi", "-f", tag, check=False)


@pytest.fixture(scope="module")
def wheel_image(host_mirror: str, docker_cli: Docker, distill_cache_root: Path,
                require_tool: Callable[[str], Path],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    require_tool("gcc")
    work = tmp_path_factory.mktemp("native-wheel")
    _, requirement = native_wheel(work)
    project = python_project(work / "yamlapp", requirements=[requirement],
                             main="import distillnative\nprint(distillnative.report())\n")
    yield from _built(project, "distill-test-native/yamlapp:1", cache=distill_cache_root,
                      docker=docker_cli,
                      env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(work / "wheels")})


@pytest.mark.docker
@pytest.mark.mirror
def test_a_wheel_linking_a_system_library_runs_and_the_build_says_what_it_added(
        wheel_image: tuple[str, str], docker_cli: Docker) -> None:
    tag, stdout = wheel_image
    lines = stdout.splitlines()
    assert lines[0].startswith("IMAGE")
    assert lines[-1] == f"added libyaml-0-2 for {WHEEL_NAME}/_native.so ({YAML_SONAME})"
    result = docker_cli("run", "--rm", "--network", "none", tag, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("yaml 0.2.") and result.stdout.strip().endswith("bundled 7")


@pytest.fixture(scope="module")
def opencv_image(host_mirror: str, docker_cli: Docker, distill_cache_root: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    project = python_project(tmp_path_factory.mktemp("opencv") / "opencvapp",
                             requirements=["opencv-python"], main=OPENCV_MAIN)
    yield from _built(project, "distill-test-native/opencvapp:1", cache=distill_cache_root,
                      docker=docker_cli)


@pytest.mark.docker
@pytest.mark.mirror
def test_opencv_python_imports_and_processes_an_image_in_the_container(
        opencv_image: tuple[str, str], docker_cli: Docker) -> None:
    tag, stdout = opencv_image
    added = {line.split()[1] for line in stdout.splitlines() if line.startswith("added ")}
    assert {"libgl1", "libglib2.0-0"} <= added, stdout
    assert any(re.fullmatch(r"added libgl1 for \S+ \(libGL\.so\.1\) and \d+ more files", line)
               for line in stdout.splitlines()), stdout
    result = docker_cli("run", "--rm", "--network", "none", tag, check=False)
    assert result.returncode == 0, result.stderr
    version, facts = result.stdout.strip().split(" ", 1)
    assert int(version.split(".")[0]) >= 4 and facts == "True (32, 24, 3) 255 0"


@pytest.mark.mirror
def test_the_lock_pins_the_added_packages_and_a_quiet_locked_build_says_nothing(
        host_mirror: str, distill_cache_root: Path, require_tool: Callable[[str], Path],
        tmp_path: Path) -> None:
    require_tool("gcc")
    _, requirement = native_wheel(tmp_path)
    project = python_project(tmp_path / "lockapp", requirements=[requirement],
                             main="import distillnative\n")
    (project / "distill.yaml").write_text(
        "name: lockapp\nbase: python3\napp: {type: python, path: ., script: main.py}\n")
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "wheels")}
    config = str(project / "distill.yaml")
    locked = _distill("lock", "-f", config, cache=distill_cache_root, env=env)
    assert locked.returncode == 0, locked.stderr
    names = {p["name"] for p in json.loads((project / "distill.lock").read_text())
             ["packages"]["amd64"]}
    assert "libyaml-0-2" in names
    built = _distill("-q", "build", "-f", config, "--locked", "-o", f"oci:{tmp_path}/out",
                     cache=distill_cache_root, env=env)
    assert built.returncode == 0, built.stderr
    assert built.stdout == "" and built.stderr == ""
