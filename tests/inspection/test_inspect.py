"""``inspect_image`` on an image distill did not build: sizes by package add up exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distill.errors import FormatError
from distill.inspection import Inspection, inspect_image
from distill.inspection.layer_files import read_layer_files
from distill.oci.model import Image
from support.inspection_images import regular_file_bytes
from support.sbom import Entry, image_of, tar_layer
from support.sbom_images import COPYRIGHT


def test_owned_plus_unowned_is_each_layers_regular_file_bytes(
        foreign_image: Image, foreign: Inspection) -> None:
    for layer, report in zip(foreign_image.layers, foreign.layers, strict=True):
        expected = regular_file_bytes(layer)
        assert expected > 0
        assert report.size == expected
        assert sum(report.packages.values()) + report.unowned == expected


def test_a_package_owns_its_files_through_symlinked_folders(foreign: Inspection) -> None:
    hello = {f.path: f.package for f in foreign.layers[0].files if f.package}
    # /bin/hello2 in the list is /usr/bin/hello2 behind /bin -> usr/bin
    assert hello == {"/etc/hello.conf": "hello", "/usr/bin/hello": "hello",
                     "/usr/bin/hello2": "hello", "/usr/share/doc/hello/copyright": "hello"}
    owned = len(b"greeting=hi\n") + len(b"\x7fELF hello") + len(b"\x7fELF hello2") + \
        len(COPYRIGHT.encode())
    assert foreign.layers[0].packages == {"hello": owned}


def test_a_whited_out_file_still_counts_in_the_layer_that_holds_it(foreign: Inspection) -> None:
    layer0 = {f.path: f.size for f in foreign.layers[0].files}
    assert layer0["/usr/bin/removed"] == len(b"soon gone")
    assert "/usr/bin/removed" not in {f.path for f in foreign.largest}


def test_what_each_package_costs_and_the_largest_files(foreign: Inspection) -> None:
    (hello,) = foreign.packages
    assert (hello.name, hello.version, hello.architecture, hello.files) == \
        ("hello", "2.10-3", "amd64", 4)
    assert hello.size == foreign.layers[0].packages["hello"]
    sizes = [f.size for f in foreign.largest]
    assert sizes == sorted(sizes, reverse=True)
    assert foreign.largest[0].path == "/app/lib/app.jar"
    assert foreign.largest[0].package == ""


def test_json_shape(foreign: Inspection) -> None:
    document = json.loads(json.dumps(foreign.to_json()))
    assert set(document) == {"image", "config", "history", "layers", "packages", "largest"}
    assert document["image"]["distro"] == "debian-12"
    assert document["image"]["size"] == sum(layer["size"] for layer in document["layers"])
    assert [entry["created_by"] for entry in document["history"]] == ["test layer"] * 2
    for layer in document["layers"]:
        assert sum(layer["packages"].values()) + layer["unowned"] == layer["size"]
    assert document["packages"][0]["name"] == "hello"


def test_an_image_without_package_metadata_is_all_unowned(tmp_path: Path) -> None:
    image = image_of([tar_layer(tmp_path, [Entry("app", b"x" * 100), Entry("etc/motd", b"hi")])])
    inspection = inspect_image(image)
    assert inspection.packages == ()
    assert inspection.layers[0].packages == {}
    assert inspection.layers[0].unowned == inspection.size == 102


def test_hard_links_and_repeated_paths(tmp_path: Path) -> None:
    layer = tar_layer(tmp_path, [Entry("a", b"12345"), Entry("b", kind="hardlink", target="a"),
                                 Entry("c", b"old"), Entry("c", b"newer")])
    files = {f.path: f.size for f in read_layer_files(layer)}
    assert files == {"/a": 5, "/b": 0, "/c": 5}
    assert inspect_image(image_of([layer])).size == regular_file_bytes(layer) - len(b"old")


def test_an_unreadable_layer_is_a_format_error(tmp_path: Path) -> None:
    layer = tar_layer(tmp_path, [Entry("a", b"x")])
    layer.path.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(FormatError, match="cannot read layer"):
        inspect_image(image_of([layer]))
