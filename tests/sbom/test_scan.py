"""scan_image on an image distill did not build: every ecosystem, whiteouts, symlinked folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from distill.oci.model import Image
from distill.sbom.inventory import DEB, JAR, MAVEN, NPM, PYPI, DebOrigin, Inventory, Package
from distill.sbom.scan import scan_image
from support.sbom import Entry, image_of, tar_layer


@pytest.fixture(scope="module")
def inventory(foreign_image: Image) -> Inventory:
    return scan_image(foreign_image, name="foreign", created=1700000000)


def _one(inventory: Inventory, kind: str, name: str) -> Package:
    found = [p for p in inventory.packages if p.kind == kind and p.name == name]
    assert len(found) == 1, [(p.kind, p.name) for p in inventory.packages]
    return found[0]


def test_image_facts(inventory: Inventory, foreign_image: Image) -> None:
    assert inventory.image_digest == foreign_image.digest
    assert inventory.os_name == "debian-12"
    assert [layer.digest for layer in inventory.layers] == \
        [layer.digest for layer in foreign_image.layers]
    assert inventory.created == 1700000000


def test_dpkg_database_package(inventory: Inventory) -> None:
    hello = _one(inventory, DEB, "hello")
    assert (hello.version, hello.architecture, hello.source) == ("2.10-3", "amd64", "hello-source")
    assert hello.purl == ("pkg:deb/debian/hello@2.10-3"
                          "?arch=amd64&distro=debian-12&upstream=hello-source")
    assert hello.layer == 0
    assert hello.licences == ("GPL-3.0-or-later", "MIT", "other-custom")
    assert hello.origin is None  # from the image alone there is no .deb hash


def test_files_follow_symlinked_folders_and_whiteouts(inventory: Inventory) -> None:
    hello = _one(inventory, DEB, "hello")
    paths = [f.path for f in hello.files]
    # /bin/hello2 is /usr/bin/hello2 through /bin -> usr/bin; /usr/bin/removed is whited out;
    # /etc/hello.conf comes from Conffiles:, not the list.
    assert paths == ["/etc/hello.conf", "/usr/bin/hello", "/usr/bin/hello2",
                     "/usr/share/doc/hello/copyright"]
    conf = hello.files[0]
    assert conf.sha256 == hashlib.sha256(b"greeting=hi\n").hexdigest()
    assert conf.sha1 == hashlib.sha1(b"greeting=hi\n").hexdigest()


def test_removed_packages_are_left_out(inventory: Inventory) -> None:
    assert not [p for p in inventory.packages if p.name == "gone"]


def test_python_distribution(inventory: Inventory) -> None:
    demo = _one(inventory, PYPI, "Demo_Pkg")
    assert demo.purl == "pkg:pypi/demo-pkg@1.0"
    assert demo.licences == ("MIT OR Apache-2.0",)
    assert demo.layer == 1
    assert [f.path for f in demo.files] == [
        "/usr/bin/demo",
        "/usr/lib/python3/dist-packages/demo_pkg-1.0.dist-info/METADATA",
        "/usr/lib/python3/dist-packages/demo_pkg-1.0.dist-info/RECORD",
        "/usr/lib/python3/dist-packages/demo_pkg/__init__.py",
    ]


def test_npm_packages(inventory: Inventory) -> None:
    left_pad = _one(inventory, NPM, "left-pad")
    assert left_pad.purl == "pkg:npm/left-pad@1.3.0"
    assert left_pad.licences == ("WTFPL",)
    # Its own files, not those of the package nested under its node_modules.
    assert [f.path for f in left_pad.files] == ["/app/node_modules/left-pad/index.js",
                                                "/app/node_modules/left-pad/package.json"]
    assert _one(inventory, NPM, "inner").version == "0.1.0"
    scoped = _one(inventory, NPM, "@scope/thing")
    assert scoped.purl == "pkg:npm/%40scope/thing@2.0.0"
    assert scoped.licences == ("ISC",)


def test_jars(inventory: Inventory) -> None:
    app = _one(inventory, MAVEN, "com.example:app")
    assert app.purl == "pkg:maven/com.example/app@3.1.4"
    assert [f.path for f in app.files] == ["/app/lib/app.jar"]
    plain = _one(inventory, JAR, "plain")
    assert (plain.version, plain.purl) == ("0.9", "")


def test_origins_give_the_deb_hash_when_the_version_matches(foreign_image: Image) -> None:
    right = DebOrigin(version="2.10-3", sha256="ab" * 32, suite="bookworm", component="main",
                      filename="pool/main/h/hello/hello_2.10-3_amd64.deb")
    inventory = scan_image(foreign_image, name="x", origins={("hello", "amd64"): right})
    assert _one(inventory, DEB, "hello").origin == right
    stale = DebOrigin(version="2.10-2", sha256="cd" * 32)
    inventory = scan_image(foreign_image, name="x", origins={("hello", "amd64"): stale})
    assert _one(inventory, DEB, "hello").origin is None


def test_packages_are_sorted(inventory: Inventory) -> None:
    keys = [p.key for p in inventory.packages]
    assert keys == sorted(keys)


def test_status_d_with_md5sums_and_conffiles_on_trixie(tmp_path: Path) -> None:
    paragraph = ("Package: netbase\nVersion: 6.5\nArchitecture: all\n"
                 "Conffiles:\n /etc/services 0123456789abcdef0123456789abcdef\n"
                 "Description: Basic TCP/IP networking system\n")
    layer = tar_layer(tmp_path, [
        Entry("usr/lib/os-release", b'ID=debian\nVERSION_ID="13"\n'),
        Entry("etc/os-release", kind="symlink", target="../usr/lib/os-release"),
        Entry("etc/services", b"tcpmux 1/tcp\n"),
        Entry("etc/protocols", b"ip 0 IP\n"),
        Entry("var/lib/dpkg/status.d/netbase", paragraph.encode()),
        Entry("var/lib/dpkg/status.d/netbase.md5sums", b"0123  etc/protocols\n"),
    ])
    inventory = scan_image(image_of([layer]), name="trixie")
    assert inventory.os_name == "debian-13"
    (netbase,) = inventory.packages
    assert netbase.purl == "pkg:deb/debian/netbase@6.5?arch=all&distro=debian-13"
    assert [f.path for f in netbase.files] == ["/etc/protocols", "/etc/services"]
    assert netbase.found_at == "/var/lib/dpkg/status.d/netbase"


def test_a_non_ascii_author_is_text_in_both_documents(tmp_path: Path) -> None:
    from distill.sbom.cyclonedx import write_cyclonedx
    from distill.sbom.spdx import write_spdx

    metadata = "Metadata-Version: 2.1\nName: jose\nVersion: 1.0\nAuthor: José Núñez\n\n"
    site = "usr/lib/python3/dist-packages"
    layer = tar_layer(tmp_path, [Entry(f"{site}/jose-1.0.dist-info/METADATA", metadata.encode()),
                                 Entry(f"{site}/jose-1.0.dist-info/RECORD", b"")])
    inventory = scan_image(image_of([layer]), name="jose", created=0)
    assert _one(inventory, PYPI, "jose").supplier == "José Núñez"
    assert "José Núñez" in write_spdx(inventory).decode("unicode_escape")
    assert write_cyclonedx(inventory)
