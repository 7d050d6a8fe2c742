"""`distill binary` on real programs compiled here, each run in Docker from the image distill chose.

Go static, Go with cgo (os/user through glibc), C against libsqlite3 and
libcurl, C++ with exceptions, and Rust when rustc is present. Every image must
run with ``--network none``, name the base distill picked, and list the
library packages in status.d (they came from Debian, not from the host).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GO_STATIC = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("go static") }\n'
GO_CGO = """package main

import (
\t"fmt"
\t"os/user"
)

func main() {
\tu, err := user.Current()
\tif err != nil {
\t\tpanic(err)
\t}
\tfmt.Println("go cgo user", u.Username)
}
"""
C_SQLITE = """#include <sqlite3.h>
#include <stdio.h>
int main(void) {
  sqlite3 *db; sqlite3_stmt *st;
  if (sqlite3_open(":memory:", &db)) return 1;
  sqlite3_prepare_v2(db, "select 6 * 7", -1, &st, 0);
  sqlite3_step(st);
  printf("sqlite %d\\n", sqlite3_column_int(st, 0));
  return 0;
}
"""
C_CURL = """#include <curl/curl.h>
#include <stdio.h>
int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  printf("curl %s ssl %s\\n", v->version, v->ssl_version ? "yes" : "no");
  return 0;
}
"""
CPP = """#include <iostream>
#include <stdexcept>
#include <vector>
int main() {
  try { std::vector<int> v(3); v.at(7) = 1; }
  catch (const std::out_of_range&) { std::cout << "c++ caught" << std::endl; }
}
"""
RUST = ('fn main() { let v: Vec<u64> = (1..=10).collect();'
        ' println!("rust {}", v.iter().sum::<u64>()); }\n')
_DISTILL = [sys.executable, "-c", "from distill.cli.main import run; run()"]


@dataclass(frozen=True)
class Case:
    """A program, the base distill must choose, its packages, and what it prints."""

    name: str
    base: str
    packages: tuple[str, ...]
    output: str


CASES = [
    Case("go-static", "static", (), "go static"),
    Case("go-cgo", "base-nossl", (), "go cgo user nonroot"),
    Case("c-sqlite", "base-nossl", ("libsqlite3-0",), "sqlite 42"),
    Case("c-curl", "base-nossl", ("libcurl4", "libssl3"), "curl "),
    Case("cpp", "cc", (), "c++ caught"),
    Case("rust", "cc", (), "rust 55"),
]


def _compile(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed: {result.stderr.strip()}")


def build_program(name: str, work: Path, go_build: Callable[..., Path],
                  require_tool: Callable[[str], Path]) -> Path:
    """Compile the program of case ``name`` in ``work``."""
    work.mkdir(parents=True)
    if name == "go-static":
        return go_build(GO_STATIC)
    if name == "go-cgo":
        require_tool("gcc")
        return go_build(GO_CGO, cgo=True)
    if name == "rust":
        rustc = shutil.which("rustc")
        if rustc is None:
            pytest.skip("rustc is not installed")
        (work / "main.rs").write_text(RUST, encoding="utf-8")
        _compile([rustc, "-O", "-o", "program", "main.rs"], cwd=work)
        return work / "program"
    compiler, source, suffix, libs = {
        "c-sqlite": ("gcc", C_SQLITE, ".c", ["-lsqlite3"]),
        "c-curl": ("gcc", C_CURL, ".c", ["-lcurl"]),
        "cpp": ("g++", CPP, ".cc", []),
    }[name]
    (work / f"main{suffix}").write_text(source, encoding="utf-8")
    _compile([str(require_tool(compiler)), "-O2", "-o", "program", f"main{suffix}", *libs],
             cwd=work)
    return work / "program"


def _layout_files(layout: Path) -> tuple[dict[str, Any], set[str]]:
    """The manifest annotations and every path in the layers of an OCI layout's image."""
    def blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()

    index = json.loads((layout / "index.json").read_bytes())
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    paths: set[str] = set()
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layer["digest"])))) as tar:
            paths.update(tar.getnames())
    return manifest.get("annotations", {}), paths


@pytest.fixture(scope="module")
def tag() -> str:
    """A tag private to this run."""
    return f"e2e-{os.getpid()}"


@pytest.fixture(scope="module")
def built_images(docker_cli: Any, tag: str) -> Iterator[list[str]]:
    """Image references the tests loaded; removed from the engine afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        docker_cli("rmi", "-f", name, check=False)


@pytest.mark.docker
@pytest.mark.mirror
@pytest.mark.tools("go", "gcc", "g++")
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_program_runs_from_the_image_distill_chose(
    case: Case, tmp_path: Path, go_build: Callable[..., Path],
    require_tool: Callable[[str], Path], docker_cli: Any, built_images: list[str], tag: str,
    distill_cache_root: Path,
) -> None:
    program = build_program(case.name, tmp_path / "src", go_build, require_tool)
    reference = f"distill-e2e-{case.name}:{tag}"
    built_images.append(reference)
    layout = tmp_path / "layout"
    result = subprocess.run(
        [*_DISTILL, "-q", "binary", str(program), "--name", f"distill-e2e-{case.name}",
         "-o", f"docker-daemon:{reference}", "-o", f"oci:{layout}"],
        capture_output=True, text=True, check=False, timeout=900,
        env={**os.environ, "DISTILL_CACHE": str(distill_cache_root)},
    )
    assert result.returncode == 0, result.stderr

    run = docker_cli("run", "--rm", "--network", "none", reference)
    assert run.stdout.startswith(case.output), run.stdout + run.stderr
    annotations, paths = _layout_files(layout)
    assert annotations["org.opencontainers.image.base.name"] == (
        f"distill/{case.base}-bookworm:nonroot")
    assert "app/program" in paths
    for package in case.packages:
        assert f"var/lib/dpkg/status.d/{package}" in paths
    if case.base == "static":
        assert "var/lib/dpkg/status.d/libc6" not in paths
