"""Reading an image's Debian packages from its layers' dpkg metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.errors import FormatError
from distill.maintenance.image_packages import Installed, read_image_packages
from support.layer_tars import Entry, gzip_layer, image_of

OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n'


def _status(name: str, version: str, **extra: str) -> bytes:
    fields = {"Package": name, "Version": version, "Architecture": "amd64", **extra}
    return "".join(f"{key}: {value}\n" for key, value in fields.items()).encode()


def _names(packages: tuple[Installed, ...]) -> list[tuple[str, str]]:
    return [(p.name, p.version) for p in packages]


def test_status_d_paragraphs_are_read_and_md5sums_are_not(tmp_path: Path) -> None:
    layer = gzip_layer(tmp_path, [
        Entry("etc/os-release", data=OS_RELEASE),
        Entry("var/lib/dpkg/status.d/libc6", data=_status("libc6", "2.36-9+deb12u7",
                                                            Source="glibc")),
        Entry("var/lib/dpkg/status.d/libc6.md5sums", data=b"0123  usr/lib/x\n"),
        Entry("./var/lib/dpkg/status.d/tzdata", data=_status("tzdata", "2024a-0+deb12u1",
                                                             Architecture="all")),
    ])
    found = read_image_packages(image_of([layer]))
    assert _names(found.packages) == [("libc6", "2.36-9+deb12u7"), ("tzdata", "2024a-0+deb12u1")]
    assert found.packages[0].source == "glibc"
    assert (found.release, found.distribution) == ("bookworm", None)


def test_dpkg_status_counts_only_installed_packages(tmp_path: Path) -> None:
    status = b"\n".join([
        _status("bash", "5.2.15-2+b2", Status="install ok installed"),
        _status("gone", "1.0", Status="deinstall ok config-files"),
        _status("half", "1.0", Status="install ok half-installed"),
    ])
    layer = gzip_layer(tmp_path, [Entry("etc/os-release", data=OS_RELEASE),
                                  Entry("var/lib/dpkg/status", data=status)])
    assert _names(read_image_packages(image_of([layer])).packages) == [("bash", "5.2.15-2+b2")]


def test_a_later_layer_removes_and_replaces_metadata(tmp_path: Path) -> None:
    first = gzip_layer(tmp_path / "1", [
        Entry("etc/os-release", data=OS_RELEASE),
        Entry("var/lib/dpkg/status.d/a", data=_status("a", "1.0")),
        Entry("var/lib/dpkg/status.d/b", data=_status("b", "1.0")),
        Entry("var/lib/dpkg/status.d/c", data=_status("c", "1.0")),
    ])
    second = gzip_layer(tmp_path / "2", [
        Entry("var/lib/dpkg/status.d/.wh.a"),
        Entry("var/lib/dpkg/status.d/b", data=_status("b", "2.0")),
    ])
    found = read_image_packages(image_of([first, second]))
    assert _names(found.packages) == [("b", "2.0"), ("c", "1.0")]


def test_an_opaque_folder_hides_what_earlier_layers_put_in_it(tmp_path: Path) -> None:
    first = gzip_layer(tmp_path / "1", [
        Entry("etc/os-release", data=OS_RELEASE),
        Entry("var/lib/dpkg/status.d/a", data=_status("a", "1.0")),
    ])
    second = gzip_layer(tmp_path / "2", [
        Entry("var/lib/dpkg/status.d/.wh..wh..opq"),
        Entry("var/lib/dpkg/status.d/z", data=_status("z", "1.0")),
    ])
    assert _names(read_image_packages(image_of([first, second])).packages) == [("z", "1.0")]


def test_os_release_through_its_symlink_and_release_from_versions(tmp_path: Path) -> None:
    linked = gzip_layer(tmp_path / "1", [
        Entry("etc/os-release", kind="symlink", target="../usr/lib/os-release"),
        Entry("usr/lib/os-release", data=b'ID=debian\nVERSION_CODENAME="trixie"\n'),
        Entry("var/lib/dpkg/status.d/a", data=_status("a", "1.0")),
    ])
    found = read_image_packages(image_of([linked]))
    assert (found.release, found.distribution) == ("trixie", "debian")
    bare = gzip_layer(tmp_path / "2", [
        Entry("var/lib/dpkg/status.d/base-files", data=_status("base-files", "12.4+deb12u5")),
    ])
    assert read_image_packages(image_of([bare])).release == "bookworm"
    unknown = gzip_layer(tmp_path / "3", [Entry("var/lib/dpkg/status.d/a",
                                                data=_status("a", "1.0"))])
    assert read_image_packages(image_of([unknown])).release is None


def test_an_image_without_dpkg_metadata_is_an_error(tmp_path: Path) -> None:
    layer = gzip_layer(tmp_path, [Entry("etc/os-release", data=OS_RELEASE),
                                  Entry("app", data=b"\x7fELF")])
    with pytest.raises(FormatError, match="no dpkg metadata"):
        read_image_packages(image_of([layer]))
    deleted = gzip_layer(tmp_path / "2", [Entry("var/lib/dpkg/.wh.status.d")])
    first = gzip_layer(tmp_path / "1", [Entry("var/lib/dpkg/status.d/a", data=_status("a", "1"))])
    with pytest.raises(FormatError, match="no dpkg metadata"):
        read_image_packages(image_of([first, deleted]))
