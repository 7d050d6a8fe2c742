"""The HTML report: its tree adds up, stays small for big images, needs no network, and
draws its treemap in a real browser (headless Chromium)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from distill.inspection import Inspection, inspect_image, report_html
from distill.inspection.report_tree import MIN_FRACTION, report_tree
from support.inspection_images import package_image

_DATA = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


def _big_image(blobs: Path) -> Inspection:
    """Three packages with hundreds of small files each, a large one, and app files."""
    packages = [(f"libmany{n}", f"{n}.0-1",
                 {f"/usr/lib/many{n}/sub{i % 7}/file{i}.py": b"#" * (20 + i % 50)
                  for i in range(900)})
                for n in range(3)]
    packages.append(("libbig", "2.0-1", {"/usr/lib/libbig.so": b"B" * 400_000,
                                          "/usr/share/big/data.bin": b"D" * 150_000}))
    app = {"/app/server": b"S" * 250_000, "/app/static/</script>.js": b"x" * 9000,
           **{f"/app/static/asset{i}.css": b"c" * 20 for i in range(500)}}
    return inspect_image(package_image(blobs, packages, app))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Inspection:
    return _big_image(tmp_path_factory.mktemp("report"))


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("c", []) for n in _nodes(child))]


def _page_data(page: str) -> dict[str, Any]:
    match = _DATA.search(page)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_every_node_is_the_sum_of_its_children(big: Inspection) -> None:
    tree = report_tree(big)
    assert tree["s"] == big.size
    assert [layer["s"] for layer in tree["c"]] == [layer.size for layer in big.layers]
    for node in _nodes(tree):
        if node.get("c"):
            assert node["s"] == sum(child["s"] for child in node["c"]), node["n"]


def test_small_files_are_folded_so_the_tree_stays_small(big: Inspection) -> None:
    files = sum(len(layer.files) for layer in big.layers)
    nodes = _nodes(report_tree(big))
    assert files > 3000
    assert len(nodes) < 200
    small = [n for n in nodes if n["k"] == "small"]
    assert small and sum(n["f"] for n in small) > 2500
    threshold = big.size * MIN_FRACTION
    assert all(n["s"] >= threshold for n in nodes if n["k"] in {"file", "folder"})
    names = {n["n"] for n in nodes}
    assert {"libbig", "libmany0", "(no package)", "libbig.so", "server"} <= names


def test_the_page_is_self_contained_and_marks_outdated_packages(big: Inspection) -> None:
    page = report_html(big, title="big <image>", outdated={"libbig": "2.1-1"})
    assert not re.search(r"""(src|href)\s*=|https?://|@import|url\(""", page)
    assert "<title>big &lt;image&gt; · distill inspect</title>" in page
    assert page.count("</script>") == 2  # the file named </script>.js is escaped
    data = _page_data(page)
    assert data["outdated"] == {"libbig": "2.1-1"}
    assert data["summary"]["digest"] == big.digest
    assert [p["name"] for p in data["packages"]][:1] == ["libbig"]


def test_no_outdated_packages_by_default(big: Inspection) -> None:
    assert _page_data(report_html(big, title="big"))["outdated"] == {}


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                           "--window-size=1200,900", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.tools("chromium")
def test_chromium_draws_the_treemap(big: Inspection, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report_html(big, title="big", outdated={"libbig": "2.1-1"}),
                    encoding="utf-8")
    dumped = _chromium("--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr
    dom = dumped.stdout
    boxes = re.findall(r'<div class="node (group|leaf)[^"]*"', dom)
    assert len(boxes) > 40
    assert re.search(r'class="node group outdated"[^>]*data-kind="package"', dom)
    assert 'data-kind="layer"' in dom
    for name in ("layer 0", "layer 1", "libbig", "libmany0", "(no package)"):
        assert f'<div class="label">{name}' in dom, name
    assert '<span class="badge">↑ 2.1-1</span>' in dom
    assert dom.count('<tr class="outdated">') == 1
    zoomed = _chromium("--dump-dom", page.as_uri() + "#/0/0").stdout  # layer 0 > libbig
    assert re.search(r'<a>layer 0</a><span class="sep">›</span><b>libbig · 537\.1 KiB</b>', zoomed)
    assert '<div class="label">layer 1' not in zoomed
    assert '<div class="label">libbig.so' in zoomed
    shot = tmp_path / "report.png"
    screenshot = _chromium(f"--screenshot={shot}", page.as_uri())
    assert screenshot.returncode == 0, screenshot.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
