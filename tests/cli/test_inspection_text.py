"""The text forms of ``distill inspect`` and ``distill diff``."""

from __future__ import annotations

from pathlib import Path

from distill.cli.inspection_text import diff_lines, inspection_lines
from distill.inspection import diff_images, inspect_image
from support.inspection_images import package_image

LIBC = ("libc6", "2.36-9", {"/usr/lib/libc.so.6": b"c" * 400})
ZLIB_OLD = ("zlib1g", "1:1.2.13", {"/usr/lib/libz.so.1": b"z" * 100})
ZLIB_NEW = ("zlib1g", "1:1.2.14", {"/usr/lib/libz.so.1": b"Z" * 120})
SQLITE = ("libsqlite3-0", "3.40.1-2", {"/usr/lib/libsqlite3.so.0": b"s" * 300})


def test_diff_text_names_packages_files_and_config(tmp_path: Path) -> None:
    a = inspect_image(package_image(tmp_path, [LIBC, ZLIB_OLD], {"/app": b"1"}, env=("A=1",)))
    b = inspect_image(package_image(tmp_path, [ZLIB_NEW, SQLITE], {"/app": b"1"}, env=("A=2",)))
    lines = list(diff_lines(diff_images(a, b)))
    assert lines[0] == f"a  {a.digest}  {lines[0].rsplit('  ', 1)[1]}"
    packages = lines[lines.index("packages") + 1:lines.index("packages") + 4]
    assert packages == ["  + libsqlite3-0 3.40.1-2  300 B", "  - libc6 2.36-9  400 B",
                        "  ~ zlib1g 1:1.2.13 -> 1:1.2.14  100 B -> 120 B"]
    assert f"layer 0 {a.layers[0].diff_id} -> layer 0 {b.layers[0].diff_id}" in lines
    assert "  + /usr/lib/libsqlite3.so.0  300 B" in lines
    assert lines[-2:] == ["config", '  config.Env: ["A=1"] -> ["A=2"]']
    assert not any(line.startswith("layer 1") for line in lines)  # the same app layer


def test_inspect_text_lists_layers_by_package(tmp_path: Path) -> None:
    inspection = inspect_image(package_image(tmp_path, [LIBC, SQLITE], {"/app": b"x" * 5},
                                             env=("A=1",)))
    lines = list(inspection_lines(inspection))
    assert '  Entrypoint  ["/app"]' in lines and '  Env         ["A=1"]' in lines
    layer0 = lines.index(next(line for line in lines if line.startswith("layer 0  ")))
    assert lines[layer0 + 1:layer0 + 3] == ["       400 B  libc6", "       300 B  libsqlite3-0"]
    assert lines[layer0 + 3].endswith("  (no package)")
    assert "         5 B  /app  ((no package))" in lines
