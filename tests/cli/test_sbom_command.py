"""``distill sbom REF`` on an image distill did not build, and its errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.transports import oci_layout
from support.sbom import cyclonedx_components, cyclonedx_problems, spdx_problems
from support.sbom_images import make_foreign_image

RunCli = Callable[..., Any]


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OCI layout holding the hand-made image under the tag ``v1``."""
    work = tmp_path_factory.mktemp("sbom-cli")
    path = work / "foreign"
    oci_layout.write(make_foreign_image(work / "blobs"), path, tag="v1")
    return path


def test_spdx_on_standard_output_by_default(run_cli: RunCli, layout: Path,
                                            isolated_cache: Path) -> None:
    outcome = run_cli("sbom", f"oci:{layout}:v1")
    assert outcome.code == 0, outcome.err
    assert spdx_problems(outcome.out.encode()) == []
    document = json.loads(outcome.out)
    assert document["name"] == "foreign"
    names = {p["name"] for p in document["packages"]}
    assert {"hello", "Demo_Pkg", "left-pad", "@scope/thing", "com.example:app"} <= names


def test_cyclonedx_to_a_file(run_cli: RunCli, layout: Path, tmp_path: Path,
                             isolated_cache: Path) -> None:
    target = tmp_path / "out" / "foreign.cdx.json"
    outcome = run_cli("sbom", f"oci:{layout}:v1", "--format", "cyclonedx", "-o", str(target))
    assert (outcome.code, outcome.out, outcome.err) == (0, "", "")
    data = target.read_bytes()
    assert cyclonedx_problems(data) is None
    assert "pkg:npm/left-pad@1.3.0" in {c.get("purl") for c in cyclonedx_components(data)}
    assert [p.name for p in target.parent.iterdir()] == ["foreign.cdx.json"]


def test_same_bytes_twice(run_cli: RunCli, layout: Path, tmp_path: Path,
                          isolated_cache: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("sbom", f"oci:{layout}:v1", "-o", str(first)).code == 0
    for cached in (isolated_cache / "sboms").iterdir():
        cached.unlink()  # the second run makes the document again
    assert run_cli("sbom", f"oci:{layout}:v1", "-o", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()


def test_unknown_format_is_one_line(run_cli: RunCli, layout: Path, tmp_path: Path) -> None:
    target = tmp_path / "never.json"
    outcome = run_cli("sbom", f"oci:{layout}:v1", "--format", "xml", "-o", str(target))
    assert outcome.code == 1
    assert outcome.err_lines == [
        "error: unknown SBOM format 'xml' (choose from spdx, cyclonedx)"]
    assert not target.exists()


@pytest.mark.parametrize("reference", ["oci:/nonexistent/layout:v1", "nonsense:thing"])
def test_unreadable_reference_is_one_line(run_cli: RunCli, reference: str,
                                          tmp_path: Path) -> None:
    target = tmp_path / "never.json"
    outcome = run_cli("sbom", reference, "-o", str(target))
    assert outcome.code == 1
    assert len(outcome.err_lines) == 1 and outcome.err_lines[0].startswith("error: ")
    assert "Traceback" not in outcome.err
    assert not target.exists()
