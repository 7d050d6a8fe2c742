"""Go modules read from a real binary's build information."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from distill.sbom.gobuildinfo import Module, read_buildinfo
from distill.sbom.inventory import GOLANG
from distill.sbom.scan import scan_image
from distill.sbom.spdx import write_spdx
from support.sbom import Entry, go_module_binary, image_of, spdx_problems, tar_layer


@pytest.fixture(scope="module")
def go_binary(tmp_path_factory: pytest.TempPathFactory,
              require_tool: Callable[[str], Path]) -> Path:
    work = tmp_path_factory.mktemp("gomod")
    cache = Path(__file__).resolve().parents[2] / ".cache" / "go-build"
    return go_module_binary(work, go=require_tool("go"), cache=cache)


@pytest.mark.tools("go")
def test_module_and_dependency_with_sum(go_binary: Path) -> None:
    info = read_buildinfo(go_binary.read_bytes())
    assert info is not None
    assert info.go_version.startswith("go1.")
    assert info.main == Module("example.com/hello", "(devel)", "")
    assert len(info.deps) == 1
    dep = info.deps[0]
    assert (dep.path, dep.version) == ("example.com/greet", "v1.2.3")
    assert dep.checksum.startswith("h1:") and dep.checksum.endswith("=")


@pytest.mark.tools("go")
def test_go_packages_in_an_image(go_binary: Path, tmp_path: Path) -> None:
    layer = tar_layer(tmp_path, [Entry("app/hello", go_binary.read_bytes(), mode=0o755)])
    inventory = scan_image(image_of([layer]), name="go-app")
    found = {p.name: p for p in inventory.packages if p.kind == GOLANG}
    assert set(found) == {"example.com/hello", "example.com/greet"}
    greet = found["example.com/greet"]
    assert greet.purl == "pkg:golang/example.com/greet@v1.2.3"
    assert greet.checksum.startswith("h1:")
    assert [f.path for f in greet.files] == ["/app/hello"]
    assert found["example.com/hello"].purl == "pkg:golang/example.com/hello"
    assert spdx_problems(write_spdx(inventory)) == []


def test_no_buildinfo_in_other_files() -> None:
    assert read_buildinfo(b"\x7fELF" + b"\0" * 100) is None
    # A header without the inline flag (Go before 1.18 stored pointers): not read.
    assert read_buildinfo(b"\xff Go buildinf:" + b"\x08\x00" + b"\0" * 40) is None
