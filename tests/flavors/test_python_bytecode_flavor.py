"""The python3 flavor's standard library carries bytecode compiled by the image's own
interpreter: nothing compiles at import, the pycs match their sources, the layer is
the same bytes from empty layer caches, and arm64 is compiled through qemu."""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from distill.assembly.pipeline import BuildResult, build
from distill.config import parse_config
from distill.oci.model import Image
from distill.oci.reference import parse_reference
from distill.transports import write_artifact

pytestmark = pytest.mark.mirror

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]
MODULES = "asyncio, json, http.client, email, ssl, logging, argparse, decimal, typing, dataclasses"
# Counts the modules the import system compiles from source (none when every pyc is used).
SPY = f"""
import importlib._bootstrap_external as b
original = b.SourceLoader.source_to_code
compiled = []
def spy(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
b.SourceLoader.source_to_code = spy
import {MODULES}
import json
print(len(compiled), json.__spec__.origin, json.dumps(compiled[:3]))
"""
# Checks every pyc of the stdlib against its source and the interpreter's magic number.
CHECK_PYCS = """
import importlib.util, pathlib, sys
root = pathlib.Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
bad, count = [], 0
for pyc in root.rglob("__pycache__/*.pyc"):
    source = pyc.parent.parent / (pyc.name.split(".")[0] + ".py")
    data = pyc.read_bytes()
    count += 1
    if (data[:4] != importlib.util.MAGIC_NUMBER or data[4:8] != b"\\x01\\0\\0\\0"
            or data[8:16] != importlib.util.source_hash(source.read_bytes())):
        bad.append(str(pyc))
print(count, len(bad), bad[:3])
"""


def _build(release: str, bytecode: str | None = None, arch: str = "amd64") -> BuildResult:
    document: dict[str, object] = {"name": "pyc-test", "base": "python3", "variant": "nonroot",
                                   "release": release, "archs": [arch]}
    if bytecode is not None:
        document["python"] = {"bytecode": bytecode}
    return build(parse_config(document, source="test", base_dir=Path("/")))


@pytest.fixture
def loaded(docker_cli: DockerCLI) -> Iterator[Callable[[Image, str], str]]:
    names: list[str] = []

    def load(image: Image, tag: str) -> str:
        name = f"distill-test-pyc/python3:{tag}"
        write_artifact(image, parse_reference(f"docker-daemon:{name}"))
        names.append(name)
        return name

    yield load
    for name in names:
        docker_cli("rmi", name, check=False)


def _python_layer_files(image: Image) -> dict[str, bytes]:
    with tarfile.open(image.layers[-1].path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile() and m.name.endswith((".py", ".pyc", ".md5sums"))}


@pytest.mark.docker
@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_the_default_sourceless_stdlib_imports_without_compiling(
    release: str, docker_cli: DockerCLI, loaded: Callable[[Image, str], str]
) -> None:
    image = _build(release).images[0]
    name = loaded(image, f"{release}-default")
    out = docker_cli("run", "--rm", "--network=none", name, "-c", SPY).stdout.split(" ", 2)
    assert out[0] == "0", out
    assert out[1].endswith("/json/__init__.pyc")
    files = _python_layer_files(image)
    assert not any(path.endswith("/json/__init__.py") for path in files)
    # Debian's sitecustomize.py is a conffile in /etc: kept, compiled through its link.
    assert any(path.startswith("etc/python3.") and path.endswith("/sitecustomize.py")
               for path in files)
    assert any("/__pycache__/sitecustomize.cpython-3" in path for path in files)
    stdlib = next(data for path, data in files.items() if path.endswith("-stdlib.md5sums"))
    assert b"/json/__init__.py" not in stdlib and b"lib-dynload/" in stdlib
    # sysconfig imports _sysconfigdata_ through a link, now one between two pycs.
    multiarch = docker_cli("run", "--rm", "--network=none", name, "-c",
                           "import sysconfig; print(sysconfig.get_config_var('MULTIARCH'))")
    assert multiarch.stdout == "x86_64-linux-gnu\n"
    failing = docker_cli("run", "--rm", "--network=none", name, "-c",
                         "import json, asyncio; json.loads('{')", check=False)
    assert failing.returncode == 1 and "JSONDecodeError" in failing.stderr


@pytest.mark.docker
@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_both_keeps_sources_and_every_pyc_matches_its_source(
    release: str, docker_cli: DockerCLI, loaded: Callable[[Image, str], str]
) -> None:
    name = loaded(_build(release, "both").images[0], f"{release}-both")
    count, bad, _ = docker_cli("run", "--rm", "--network=none", name, "-c",
                               CHECK_PYCS).stdout.split(" ", 2)
    assert int(count) > 500 and bad == "0"
    assert docker_cli("run", "--rm", "--network=none", name, "-c", SPY).stdout.startswith("0 ")


@pytest.mark.docker
def test_sources_has_no_pycs_and_compiles_at_import(
    docker_cli: DockerCLI, loaded: Callable[[Image, str], str]
) -> None:
    image = _build("bookworm", "sources").images[0]
    assert not any(path.endswith(".pyc") for path in _python_layer_files(image))
    name = loaded(image, "bookworm-sources")
    compiled = int(docker_cli("run", "--rm", "--network=none", name, "-c", SPY).stdout.split()[0])
    assert compiled > 50


def test_the_python3_layer_is_the_same_bytes_from_empty_layer_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, distill_cache_root: Path
) -> None:
    digests = []
    for run in ("first", "second"):
        root = tmp_path / run
        root.mkdir()
        (root / "debian").symlink_to(distill_cache_root / "debian", target_is_directory=True)
        monkeypatch.setenv("DISTILL_CACHE", str(root))
        digests.append(_build("bookworm", "both").images[0].layers[-1].digest)
    assert digests[0] == digests[1]


@pytest.mark.tools("qemu-aarch64-static")
def test_arm64_is_compiled_through_qemu_to_the_same_pycs_as_amd64() -> None:
    """marshal's output does not depend on the CPU, so this also proves qemu ran the
    arm64 interpreter faithfully."""
    arm64 = _python_layer_files(_build("bookworm", arch="arm64").images[0])
    amd64 = _python_layer_files(_build("bookworm").images[0])
    # _sysconfigdata__<triplet> differs by name and contents; every other module is shared.
    pycs = sorted(path for path in arm64.keys() & amd64.keys() if path.endswith(".pyc"))
    assert len(pycs) > 500
    assert {p: arm64[p] for p in pycs} == {p: amd64[p] for p in pycs}

