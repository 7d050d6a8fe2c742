"""``diff_images``: packages added, removed and changed, files per layer, config and size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distill.inspection import ImageDiff, diff_images, inspect_image
from distill.oci.config import HistoryEntry
from distill.oci.mutate import Addendum, append_layers
from support.inspection_images import package_image
from support.sbom import Entry, image_of, tar_layer

LIBC = ("libc6", "2.36-9", {"/usr/lib/libc.so.6": b"c" * 400})
ZLIB_OLD = ("zlib1g", "1:1.2.13", {"/usr/lib/libz.so.1": b"z" * 100})
ZLIB_NEW = ("zlib1g", "1:1.2.14", {"/usr/lib/libz.so.1": b"Z" * 120})
GONE = ("libgone1", "1.0", {"/usr/lib/libgone.so.1": b"g" * 50})
SQLITE = ("libsqlite3-0", "3.40.1-2", {"/usr/lib/libsqlite3.so.0": b"s" * 300})


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> ImageDiff:
    blobs = tmp_path_factory.mktemp("diff")
    a = package_image(blobs, [LIBC, ZLIB_OLD, GONE], {"/app": b"v1", "/etc/app.conf": b"same"},
                      env=("A=1",))
    b = package_image(blobs, [LIBC, ZLIB_NEW, SQLITE],
                      {"/app": b"v2!", "/etc/app.conf": b"same", "/data/new": b"n" * 7},
                      env=("A=2",))
    return diff_images(inspect_image(a), inspect_image(b))


def test_packages_added_removed_and_changed_with_versions(changed: ImageDiff) -> None:
    assert changed.packages.added == (("libsqlite3-0", "3.40.1-2", 300),)
    assert changed.packages.removed == (("libgone1", "1.0", 50),)
    ((name, before, after),) = [(c.name, c.before, c.after) for c in changed.packages.changed]
    assert (name, before, after) == ("zlib1g", "1:1.2.13", "1:1.2.14")


def test_files_per_layer(changed: ImageDiff) -> None:
    packages, app = changed.layers
    assert [path for path, _, _ in packages.files.added] == [
        "/usr/lib/libsqlite3.so.0", "/var/lib/dpkg/status.d/libsqlite3-0",
        "/var/lib/dpkg/status.d/libsqlite3-0.md5sums"]
    assert "/usr/lib/libgone.so.1" in [path for path, _, _ in packages.files.removed]
    assert "/usr/lib/libz.so.1" in [c.name for c in packages.files.changed]
    assert "/usr/lib/libc.so.6" not in [c.name for c in packages.files.changed]
    assert [(p, s) for p, _, s in app.files.added] == [("/data/new", 7)]
    assert app.files.removed == ()
    assert [(c.name, c.size_before, c.size_after) for c in app.files.changed] == [
        ("/app", 2, 3)]


def test_config_changes_and_size_delta(changed: ImageDiff) -> None:
    assert changed.config == {"config.Env": (["A=1"], ["A=2"])}
    document = json.loads(json.dumps(changed.to_json()))
    assert document["size_delta"] == changed.b.size - changed.a.size == \
        (300 - 50) + (120 - 100) + 1 + 7 + _metadata_delta(changed)
    assert document["config"] == {"config.Env": {"a": ["A=1"], "b": ["A=2"]}}
    assert document["packages"]["added"] == [
        {"name": "libsqlite3-0", "version": "3.40.1-2", "size": 300}]
    assert document["packages"]["changed"] == [
        {"name": "zlib1g", "a": "1:1.2.13", "b": "1:1.2.14", "size_a": 100, "size_b": 120}]
    assert [(f["layer_a"], f["layer_b"]) for f in document["files"]] == [(0, 0), (1, 1)]
    assert document["files"][1]["added"][0]["name"] == "/data/new"


def _metadata_delta(diff: ImageDiff) -> int:
    """Bytes the status.d files add or drop (paragraphs and md5sums)."""
    before = sum(f.size for f in diff.a.layers[0].files if "/status.d/" in f.path)
    after = sum(f.size for f in diff.b.layers[0].files if "/status.d/" in f.path)
    return after - before


def test_a_layer_inserted_in_the_middle_pairs_the_others_with_themselves(
        tmp_path: Path) -> None:
    first = tar_layer(tmp_path, [Entry("one", b"1")])
    middle = tar_layer(tmp_path, [Entry("two", b"22")])
    last = tar_layer(tmp_path, [Entry("three", b"333")])
    result = diff_images(inspect_image(image_of([first, last])),
                         inspect_image(image_of([first, middle, last])))
    pairs = [(p.a.index if p.a else None, p.b.index if p.b else None, p.files.added)
             for p in result.layers]
    assert [(a, b) for a, b, _ in pairs] == [(0, 0), (None, 1), (1, 2)]
    assert [added for _, _, added in pairs if added] == [
        (("/two", result.layers[1].files.added[0][1], 2),)]
    assert result.layers[2].files.empty


def test_the_same_image_has_no_differences(tmp_path: Path) -> None:
    image = package_image(tmp_path, [LIBC], {"/app": b"x"})
    result = diff_images(inspect_image(image), inspect_image(image))
    assert result.packages.empty and result.config == {}
    assert all(layer.files.empty for layer in result.layers)
    assert result.to_json()["size_delta"] == 0


def test_an_extra_layer_is_all_added(tmp_path: Path) -> None:
    one = package_image(tmp_path, [LIBC], {"/app": b"x"})
    extra = tar_layer(tmp_path, [Entry("extra/file", b"e" * 9)])
    two = append_layers(one, [Addendum(extra, HistoryEntry("more"))])
    result = diff_images(inspect_image(one), inspect_image(two))
    assert result.layers[2].a is None and result.layers[2].b is not None
    assert [(p, s) for p, _, s in result.layers[2].files.added] == [("/extra/file", 9)]
    assert result.to_json()["size_delta"] == 9
