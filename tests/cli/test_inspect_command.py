"""``distill inspect`` and ``distill diff`` on the command line, and their errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import distill
from distill.transports import oci_layout
from support.sbom_images import make_foreign_image

RunCli = Callable[..., Any]


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OCI layout holding the hand-made image (a dpkg database) under the tag ``v1``."""
    work = tmp_path_factory.mktemp("inspect-cli")
    path = work / "foreign"
    oci_layout.write(make_foreign_image(work / "blobs"), path, tag="v1")
    return path


def _scratch(folder: Path, text: str, tag: str) -> str:
    """A scratch image of one file built by distill, written to an OCI layout."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.txt").write_text(text)
    config = distill.config_from_dict({
        "name": "inspect-diff", "base": "scratch",
        "files": [{"src": "hello.txt", "dst": "/hello.txt", "mode": "0644"}],
    }, base_dir=folder)
    return str(distill.write(distill.build(config), f"oci:{folder.parent / 'layout'}:{tag}"))


def test_text(run_cli: RunCli, layout: Path) -> None:
    outcome = run_cli("inspect", f"oci:{layout}:v1")
    assert outcome.code == 0, outcome.err
    lines = outcome.out.splitlines()
    assert lines[0].startswith("image     sha256:")
    assert "platform  linux/amd64  (debian-12)" in lines
    assert any(line.startswith("layer 0  sha256:") for line in lines)
    assert any(line.endswith("  hello 2.10-3  (4 files)") for line in lines)
    assert any(line.endswith("  /app/lib/app.jar  ((no package))") for line in lines)


def test_json_sizes_add_up(run_cli: RunCli, layout: Path) -> None:
    outcome = run_cli("inspect", f"oci:{layout}:v1", "--format", "json")
    assert outcome.code == 0, outcome.err
    document = json.loads(outcome.out)
    assert document["layers"][0]["packages"] == {"hello": 325}
    for layer in document["layers"]:
        assert sum(layer["packages"].values()) + layer["unowned"] == layer["size"]


def test_html_is_written_and_nothing_printed(run_cli: RunCli, layout: Path,
                                             tmp_path: Path) -> None:
    target = tmp_path / "report" / "foreign.html"
    outcome = run_cli("inspect", f"oci:{layout}:v1", "--html", str(target), "--no-outdated")
    assert (outcome.code, outcome.out, outcome.err) == (0, "", "")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<title>foreign · distill inspect</title>" in page
    both = run_cli("inspect", f"oci:{layout}:v1", "--html", str(target), "--format", "json")
    assert both.code == 0 and json.loads(both.out)["image"]["packages"] == 1
    # The hand-made image names no Debian release: the report is written without marks.
    assert both.err.startswith("warning: outdated packages are not marked: ")


def test_diff_of_two_builds_differing_in_one_file(run_cli: RunCli, tmp_path: Path) -> None:
    a = _scratch(tmp_path / "a", "hello\n", "a")
    b = _scratch(tmp_path / "b", "hello, world\n", "b")
    outcome = run_cli("diff", a, b, "--format", "json")
    assert outcome.code == 0, outcome.err
    document = json.loads(outcome.out)
    assert document["packages"] == {"added": [], "removed": [], "changed": []}
    changed = [(entry["layer_a"], entry["layer_b"], change["name"])
               for entry in document["files"] for change in entry["changed"]]
    last = len(document["files"]) - 1
    assert changed == [(last, last, "/hello.txt")]
    assert all(not entry["added"] and not entry["removed"] for entry in document["files"])
    assert document["size_delta"] == len("hello, world\n") - len("hello\n")
    text = run_cli("diff", a, b)
    assert text.code == 0
    assert "  ~ /hello.txt  6 B -> 13 B" in text.out.splitlines()


@pytest.mark.parametrize("reference", ["oci:/nonexistent/layout:v1", "nonsense:thing"])
def test_unreadable_reference_is_one_line(run_cli: RunCli, reference: str,
                                          tmp_path: Path) -> None:
    target = tmp_path / "never.html"
    outcome = run_cli("inspect", reference, "--html", str(target))
    assert outcome.code == 1
    assert len(outcome.err_lines) == 1 and outcome.err_lines[0].startswith("error: ")
    assert "Traceback" not in outcome.err and outcome.out == ""
    assert not target.exists()


def test_diff_with_one_unreadable_reference_is_one_line(run_cli: RunCli, layout: Path) -> None:
    outcome = run_cli("diff", f"oci:{layout}:v1", "oci:/nonexistent/layout:v1")
    assert outcome.code == 1
    assert len(outcome.err_lines) == 1 and outcome.err_lines[0].startswith("error: ")
    assert outcome.out == ""


def test_an_unknown_format_is_a_usage_error(run_cli: RunCli, layout: Path) -> None:
    assert run_cli("inspect", f"oci:{layout}:v1", "--format", "xml").code == 2
    assert run_cli("diff", f"oci:{layout}:v1", f"oci:{layout}:v1", "--format", "xml").code == 2
