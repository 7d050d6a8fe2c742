"""Go programs built from source by distill, run in Docker.

A net/http server from a distill.yaml with ``app: {type: go, package:
./cmd/server}`` answers on loopback as 65532 on static; ``distill go --base
scratch`` runs; a cgo program linking libsqlite3 runs on the base distill
picks, with libsqlite3-0 in status.d; ``--arch amd64,arm64`` makes one index
whose arm64 image runs under qemu; and the same source in two folders gives
the same image digest.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import distill
from distill.oci.model import ImageIndex
from distill.oci.reference import parse_reference
from distill.transports import write_artifact
from support.e2e import Run, run_distill
from support.go_modules import HELLO, SQLITE, write_module

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]

SERVER = """package main

import (
\t"fmt"
\t"net/http"
\t"os"
)

var version = "dev"

func main() {
\thttp.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
\t\tfmt.Fprintf(w, `{"uid": %d, "gid": %d, "version": %q}`, os.Getuid(), os.Getgid(), version)
\t})
\tif err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
\t\tfmt.Fprintln(os.Stderr, err)
\t\tos.Exit(1)
\t}
}
"""
ARCH_REPORT = """package main

import (
\t"fmt"
\t"runtime"
)

func main() { fmt.Println("go on", runtime.GOARCH) }
"""


@pytest.fixture(scope="module")
def images(docker_cli: DockerCLI) -> Iterator[list[str]]:
    """Image references the tests load; removed from the engine afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        docker_cli("rmi", "-f", name, check=False)


@pytest.fixture(autouse=True)
def _go(require_tool: Callable[[str], Path]) -> None:
    require_tool("go")


def _tag(name: str, images: list[str]) -> str:
    reference = f"distill-e2e/go-{name}:e2e"
    images.append(reference)
    return reference


def _ok(run: Run) -> Run:
    assert run.code == 0, run.describe()
    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answer(url: str, container: str, docker_cli: DockerCLI) -> dict[str, Any]:
    """The JSON the server answers, waiting while it starts (it must stay running)."""
    for _ in range(300):
        try:
            result: dict[str, Any] = httpx.get(url, timeout=2).json()
            return result
        except httpx.HTTPError:
            state = docker_cli("inspect", "-f", "{{.State.Running}}", container, check=False)
            if state.stdout.strip() != "true":
                logs = docker_cli("logs", container, check=False)
                pytest.fail(f"the server exited: {logs.stdout}{logs.stderr}")
            time.sleep(0.2)
    pytest.fail(f"no answer from {url}")


def _layout(layout: Path) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """The index, the first manifest and every path in its layers, of an OCI layout."""
    def blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()

    index = json.loads((layout / "index.json").read_bytes())
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    paths: set[str] = set()
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layer["digest"])))) as tar:
            paths.update(tar.getnames())
    return index, manifest, paths


@pytest.mark.docker
@pytest.mark.mirror
def test_server_from_a_config_answers_as_nonroot_on_static(
        tmp_path: Path, docker_cli: DockerCLI, images: list[str],
        distill_cache_root: Path) -> None:
    project = write_module(tmp_path / "server", {"cmd/server/main.go": SERVER},
                           module="example.com/server")
    tag = _tag("server", images)
    (project / "distill.yaml").write_text(yaml.safe_dump({
        "name": "server", "version": "1.0",
        "app": {"type": "go", "package": "./cmd/server", "ldflags": "-X main.version=1.0"},
    }), encoding="utf-8")
    _ok(run_distill("-q", "build", "-f", str(project / "distill.yaml"),
                    "-o", f"docker-daemon:{tag}", "-o", f"oci:{tmp_path / 'layout'}",
                    cache=distill_cache_root))
    port = _free_port()
    container = f"distill-e2e-go-server-{port}"
    docker_cli("run", "-d", "--rm", "--name", container, "--network", "host",
               "-e", f"PORT={port}", tag)
    try:
        answer = _answer(f"http://127.0.0.1:{port}/", container, docker_cli)
    finally:
        docker_cli("rm", "-f", container, check=False)
    assert answer == {"uid": 65532, "gid": 65532, "version": "1.0"}
    config = json.loads(docker_cli("inspect", tag).stdout)[0]["Config"]
    assert config["Entrypoint"] == ["/app/server"] and config["User"] == "65532:65532"
    _, manifest, paths = _layout(tmp_path / "layout")
    assert manifest["annotations"]["org.opencontainers.image.base.name"] == (
        "distill/static-bookworm:nonroot")
    assert "app/server" in paths and "var/lib/dpkg/status.d/libc6" not in paths


@pytest.mark.docker
def test_distill_go_on_scratch_runs(tmp_path: Path, docker_cli: DockerCLI, images: list[str],
                                    distill_cache_root: Path) -> None:
    module = write_module(tmp_path / "hello", {"main.go": HELLO}, module="example.com/hello")
    tag = _tag("scratch", images)
    _ok(run_distill("-q", "go", str(module), "--base", "scratch", "--ldflags",
                    "-X main.version=scratch", "-o", f"docker-daemon:{tag}",
                    cache=distill_cache_root))
    out = docker_cli("run", "--rm", "--network", "none", tag).stdout
    assert out == "hello scratch\n"


@pytest.mark.docker
@pytest.mark.mirror
@pytest.mark.tools("gcc")
def test_cgo_program_runs_with_libsqlite3_from_debian(
        tmp_path: Path, docker_cli: DockerCLI, images: list[str],
        distill_cache_root: Path) -> None:
    if not Path("/usr/include/sqlite3.h").exists():
        pytest.fail("libsqlite3-dev is not installed; scripts/install-system-deps installs it")
    module = write_module(tmp_path / "sq", {"main.go": SQLITE}, module="example.com/sq")
    tag = _tag("cgo", images)
    layout = tmp_path / "layout"
    _ok(run_distill("-q", "go", str(module), "--cgo", "-o", f"docker-daemon:{tag}",
                    "-o", f"oci:{layout}", cache=distill_cache_root))
    out = docker_cli("run", "--rm", "--network", "none", tag).stdout
    assert out.startswith("sqlite 3.")
    _, manifest, paths = _layout(layout)
    assert manifest["annotations"]["org.opencontainers.image.base.name"] == (
        "distill/base-nossl-bookworm:nonroot")
    assert {"var/lib/dpkg/status.d/libsqlite3-0", "var/lib/dpkg/status.d/libc6",
            "app/sq"} <= paths


@pytest.mark.docker
@pytest.mark.mirror
def test_two_architectures_make_an_index_whose_arm64_image_runs(
        tmp_path: Path, docker_cli: DockerCLI, images: list[str],
        distill_cache_root: Path) -> None:
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip("qemu-aarch64 binfmt is not enabled (scripts/install-system-deps does it)")
    module = write_module(tmp_path / "report", {"main.go": ARCH_REPORT},
                          module="example.com/report")
    layout = tmp_path / "layout"
    _ok(run_distill("-q", "go", str(module), "--arch", "amd64,arm64", "-o", f"oci:{layout}",
                    cache=distill_cache_root))
    index = json.loads((layout / "index.json").read_bytes())
    tagged = [m for m in index["manifests"]
              if "org.opencontainers.image.ref.name" in m.get("annotations", {})]
    assert [m["mediaType"] for m in tagged] == ["application/vnd.oci.image.index.v1+json"]
    artifact = distill.read(f"oci:{layout}")
    assert isinstance(artifact, ImageIndex)
    assert [image.platform.architecture for image in artifact.images] == ["amd64", "arm64"]
    tag = _tag("arm64", images)
    write_artifact(artifact.images[1], parse_reference(f"docker-daemon:{tag}"))
    out = docker_cli("run", "--rm", "--network", "none", "--platform", "linux/arm64", tag).stdout
    assert out == "go on arm64\n"


@pytest.mark.mirror
def test_same_source_in_two_folders_gives_the_same_image_digest(
        tmp_path: Path, distill_cache_root: Path) -> None:
    digests = []
    for where in ("first", "second/nested"):
        module = write_module(tmp_path / where, {"cmd/server/main.go": SERVER},
                              module="example.com/server")
        layout = tmp_path / "out" / where
        _ok(run_distill("-q", "go", str(module / "cmd" / "server"), "-o", f"oci:{layout}",
                        cache=distill_cache_root))
        digests.append(json.loads((layout / "index.json").read_bytes())["manifests"][0]["digest"])
        shutil.rmtree(module)
    assert digests[0] == digests[1]
