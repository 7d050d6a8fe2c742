"""Inspecting and diffing images distill builds from the mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.assembly.pipeline import build
from distill.config import parse_config
from distill.inspection import Inspection, diff_images, inspect_image
from distill.oci.model import Image
from support.inspection_images import regular_file_bytes


def _build(name: str, extra: dict[str, object]) -> Image:
    config = parse_config({"name": name, "base": "base-nossl", "archs": ["amd64"], **extra},
                          source="inspection tests", base_dir=Path("/"))
    return build(config).images[0]


@pytest.fixture(scope="module")
def plain(host_mirror: str) -> Image:
    return _build("inspect-plain", {})


@pytest.fixture(scope="module")
def with_sqlite(host_mirror: str) -> Image:
    return _build("inspect-sqlite", {"packages": ["libsqlite3-0"]})


@pytest.mark.mirror
def test_package_bytes_plus_unowned_are_each_layers_file_bytes(with_sqlite: Image) -> None:
    inspection = inspect_image(with_sqlite)
    for layer, report in zip(with_sqlite.layers, inspection.layers, strict=True):
        assert sum(report.packages.values()) + report.unowned == report.size == \
            regular_file_bytes(layer)
    owners = {name for report in inspection.layers for name in report.packages}
    assert {"libc6", "tzdata", "base-files", "libsqlite3-0"} <= owners
    assert {p.name for p in inspection.packages} == owners
    _owned_share_is_most_of_it(inspection)


def _owned_share_is_most_of_it(inspection: Inspection) -> None:
    owned = sum(sum(report.packages.values()) for report in inspection.layers)
    assert owned > 0.9 * inspection.size


@pytest.mark.mirror
def test_diff_names_exactly_the_added_package(plain: Image, with_sqlite: Image) -> None:
    result = diff_images(inspect_image(plain), inspect_image(with_sqlite))
    assert [name for name, _, _ in result.packages.added] == ["libsqlite3-0"]
    assert result.packages.removed == () and result.packages.changed == ()
    sqlite = next(p for p in result.b.packages if p.name == "libsqlite3-0")
    assert result.packages.added[0][1:] == (sqlite.version, sqlite.size)
    added = [path for pair in result.layers for path, _, _ in pair.files.added]
    assert "/var/lib/dpkg/status.d/libsqlite3-0" in added
    assert any(path.startswith("/usr/lib/x86_64-linux-gnu/libsqlite3.so") for path in added)
    removed = [path for pair in result.layers for path, _, _ in pair.files.removed]
    assert removed == []
    assert result.b.size - result.a.size >= sqlite.size
