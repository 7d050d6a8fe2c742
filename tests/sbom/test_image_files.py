"""The merged file system of an image's layers: whiteouts, opaque folders, links."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from distill.errors import FormatError
from distill.oci import media_types
from distill.oci.model import Layer
from distill.sbom.image_files import read_image_files
from support.sbom import Entry, image_of, tar_layer


def _keep_all(path: str, data: bytes) -> bool:
    return True


def test_whiteouts_and_opaque_folders(tmp_path: Path) -> None:
    lower = tar_layer(tmp_path, [
        Entry("etc/a", b"a"), Entry("etc/b", b"b"),
        Entry("opt/x/one", b"1"), Entry("opt/x/two", b"2"),
    ])
    upper = tar_layer(tmp_path, [
        Entry("etc/.wh.a"),
        Entry("opt/x/.wh..wh..opq"), Entry("opt/x/three", b"3"),
        Entry("etc/b", b"new b"),
    ])
    files = read_image_files(image_of([lower, upper]), keep=_keep_all)
    assert [f.path for f in files.files()] == ["/etc/b", "/opt/x/three"]
    b = files.get("/etc/b")
    assert b is not None and b.layer == 1 and b.data == b"new b"
    assert b.sha256 == hashlib.sha256(b"new b").hexdigest()


def test_symlinks_resolve_through_folders(tmp_path: Path) -> None:
    layer = tar_layer(tmp_path, [
        Entry("usr/lib/os-release", b"ID=debian\n"),
        Entry("etc/os-release", kind="symlink", target="../usr/lib/os-release"),
        Entry("lib", kind="symlink", target="usr/lib"),
        Entry("loop", kind="symlink", target="loop"),
        Entry("usr/lib/hard", kind="hardlink", target="usr/lib/os-release"),
    ])
    files = read_image_files(image_of([layer]), keep=_keep_all)
    assert files.text("/etc/os-release") == "ID=debian\n"
    assert files.real_path("/lib/os-release") == "/usr/lib/os-release"
    assert files.real_path("/loop/x") is None
    hard = files.get("/usr/lib/hard")
    assert hard is not None and hard.kind == "file" and hard.data == b"ID=debian\n"


def test_contents_kept_only_when_asked(tmp_path: Path) -> None:
    layer = tar_layer(tmp_path, [Entry("big", b"x" * 100), Entry("small", b"y")])
    files = read_image_files(image_of([layer]), keep=lambda path, data: path == "/small")
    big, small = files.get("/big"), files.get("/small")
    assert big is not None and big.data is None and big.size == 100
    assert small is not None and small.data == b"y"


def test_an_unreadable_layer_is_a_format_error(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"not a gzip stream at all")
    layer = Layer(digest="sha256:" + "0" * 64, size=24, diff_id="sha256:" + "1" * 64,
                  uncompressed_size=0, path=blob, media_type=media_types.OCI_LAYER_GZIP)
    with pytest.raises(FormatError, match="cannot read layer sha256:0000"):
        read_image_files(image_of([layer]), keep=_keep_all)
