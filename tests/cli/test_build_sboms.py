"""``distill build`` makes SBOMs by default: ``--sbom-dir`` writes them, ``--no-sbom`` makes none.

The app holds a Go program (a module with a dependency), a Python distribution,
an npm package and a jar on the static flavor, so its SBOMs name every ecosystem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.transports import oci_layout
from support.sbom import (
    cyclonedx_components,
    cyclonedx_problems,
    go_module_binary,
    jar,
    spdx_problems,
)

RunCli = Callable[..., Any]
SITE = "/usr/lib/python3/dist-packages"


def _project(folder: Path, go: Path, *, name: str, marker: str) -> Path:
    folder.mkdir(parents=True)
    work = folder / "go"
    work.mkdir()
    cache = Path(__file__).resolve().parents[2] / ".cache" / "go-build"
    hello = go_module_binary(work, go=go, cache=cache)
    sources = {
        "hello": hello.read_bytes(),
        "METADATA": b"Metadata-Version: 2.1\nName: tiny\nVersion: 0.3\nLicense: MIT\n",
        "RECORD": b"tiny/__init__.py,,\ntiny-0.3.dist-info/METADATA,,\n",
        "init.py": marker.encode(),
        "package.json": json.dumps({"name": "left-pad", "version": "1.3.0"}).encode(),
        "app.jar": jar({"META-INF/maven/org.example/lib/pom.properties":
                        "groupId=org.example\nartifactId=lib\nversion=1.0\n"}),
    }
    for file_name, data in sources.items():
        (folder / file_name).write_bytes(data)
    files = [
        {"src": "hello", "dst": "/app/hello", "mode": "0755"},
        {"src": "METADATA", "dst": f"{SITE}/tiny-0.3.dist-info/METADATA"},
        {"src": "RECORD", "dst": f"{SITE}/tiny-0.3.dist-info/RECORD"},
        {"src": "init.py", "dst": f"{SITE}/tiny/__init__.py"},
        {"src": "package.json", "dst": "/app/node_modules/left-pad/package.json"},
        {"src": "app.jar", "dst": "/app/app.jar"},
    ]
    config = {"name": name, "version": "1.0", "base": "static", "variant": "nonroot",
              "archs": ["amd64"], "files": files, "entrypoint": ["/app/hello"]}
    path = folder / "distill.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.mirror
@pytest.mark.tools("go")
def test_sbom_dir_gets_both_documents(run_cli: RunCli, tmp_path: Path,
                                      require_tool: Callable[[str], Path]) -> None:
    config = _project(tmp_path / "app", require_tool("go"), name="sbom-app", marker="")
    sboms = tmp_path / "sboms"
    outcome = run_cli("-q", "build", "-f", str(config), "-o", f"oci:{tmp_path / 'out'}:1.0",
                      "--sbom-dir", str(sboms))
    assert outcome.code == 0, outcome.err
    assert sorted(p.name for p in sboms.iterdir()) == ["sbom-app-amd64.cdx.json",
                                                       "sbom-app-amd64.spdx.json"]
    spdx = (sboms / "sbom-app-amd64.spdx.json").read_bytes()
    cyclonedx = (sboms / "sbom-app-amd64.cdx.json").read_bytes()
    assert spdx_problems(spdx) == []
    assert cyclonedx_problems(cyclonedx) is None
    purls = {c.get("purl", "") for c in cyclonedx_components(cyclonedx)}
    for expected in ("pkg:golang/example.com/greet@v1.2.3", "pkg:golang/example.com/hello",
                     "pkg:pypi/tiny@0.3", "pkg:npm/left-pad@1.3.0",
                     "pkg:maven/org.example/lib@1.0"):
        assert expected in purls
    image = oci_layout.read(tmp_path / "out", tag="1.0")
    document = json.loads(spdx)
    assert document["documentNamespace"].endswith(image.digest.partition(":")[2])
    debs = [p for p in document["packages"] if any(
        r["referenceLocator"].startswith("pkg:deb/") for r in p.get("externalRefs", []))]
    assert {p["name"] for p in debs} >= {"base-files", "netbase", "tzdata", "media-types"}
    assert all(p["checksums"][0]["algorithm"] == "SHA256" for p in debs)


@pytest.mark.mirror
@pytest.mark.tools("go")
def test_no_sbom_makes_none(run_cli: RunCli, tmp_path: Path,
                            require_tool: Callable[[str], Path]) -> None:
    # A file no other test has: an image digest no SBOM was ever cached for.
    config = _project(tmp_path / "app", require_tool("go"), name="no-sbom-app",
                      marker="# the --no-sbom test\n")
    outcome = run_cli("-q", "build", "-f", str(config), "-o", f"oci:{tmp_path / 'out'}:1.0",
                      "--no-sbom")
    assert outcome.code == 0, outcome.err
    digest = oci_layout.read(tmp_path / "out", tag="1.0").digest.partition(":")[2]
    cache = Path(os.environ["DISTILL_CACHE"]) / "sboms"
    leftovers = sorted(cache.glob(f"{digest}-*")) if cache.is_dir() else []
    assert leftovers == []


def test_sbom_dir_and_no_sbom_contradict(run_cli: RunCli, tmp_path: Path) -> None:
    outcome = run_cli("build", "-f", str(tmp_path / "distill.yaml"), "--no-sbom",
                      "--sbom-dir", str(tmp_path / "sboms"))
    assert outcome.code == 2
    assert "--sbom-dir and --no-sbom contradict each other" in outcome.err


def test_a_build_only_into_archives_makes_no_sbom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from distill.cli.main import main

    monkeypatch.setenv("DISTILL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "hello.txt").write_text("hi\n")
    config = tmp_path / "distill.yaml"
    config.write_text("name: hello\nbase: scratch\nfiles:\n  - {src: hello.txt, dst: /hello.txt}\n")
    archive = tmp_path / "hello.tar"
    assert main(["-q", "build", "-f", str(config), "-o", f"docker-archive:{archive}"]) == 0
    assert archive.is_file()
    assert not (tmp_path / "cache" / "sboms").exists()
    assert main(["-q", "build", "-f", str(config), "-o", f"oci:{tmp_path / 'layout'}"]) == 0
    assert any((tmp_path / "cache" / "sboms").iterdir())
