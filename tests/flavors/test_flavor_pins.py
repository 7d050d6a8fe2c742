"""Each flavor's own packages and the file count of its layer, bookworm amd64, pinned
(and the flavors whose package lists differ by release, on trixie too).

A change here (a new dependency, a slimming rule, a generated file) shows up in review.
Update the pins deliberately when the change is meant.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from distill.assembly.pipeline import build
from distill.config import parse_config

pytestmark = pytest.mark.mirror

PINNED: dict[str, tuple[tuple[str, ...], int]] = {
    'static': ((
        "base-files",
        "media-types",
        "netbase",
        "tzdata",
    ), 795),
    'base-nossl': ((
        "gcc-12-base",
        "libc6",
        "libgcc-s1",
    ), 58),
    'base': ((
        "libssl3",
        "libzstd1",
        "zlib1g",
    ), 34),
    'cc': ((
        "libgomp1",
        "libstdc++6",
    ), 34),
    'python3': ((
        "libbz2-1.0",
        "libc-bin",
        "libcrypt1",
        "libdb5.3",
        "libexpat1",
        "libffi8",
        "liblzma5",
        "libncursesw6",
        "libpython3.11-minimal",
        "libpython3.11-stdlib",
        "libreadline8",
        "libsqlite3-0",
        "libtinfo6",
        "libuuid1",
        "python3-distutils",
        "python3-lib2to3",
        "python3.11-minimal",
        "readline-common",
    ), 888),  # sourceless stdlib: + __pycache__/ and sitecustomize (a link to /etc) pyc
    'nodejs': ((
        "libbrotli1",
        "libc-ares2",
        "libicu72",
        "libnghttp2-14",
        "libnode108",
        "libuv1",
        "node-acorn",
        "node-busboy",
        "node-cjs-module-lexer",
        "node-undici",
        "node-xtend",
        "nodejs",
    ), 512),
    'java': ((
        "fontconfig-config",
        "fonts-dejavu-core",
        "libblkid1",
        "libbrotli1",
        "libc-bin",
        "libexpat1",
        "libffi8",
        "libfontconfig1",
        "libfreetype6",
        "libglib2.0-0",
        "libgraphite2-3",
        "libharfbuzz0b",
        "libjpeg62-turbo",
        "liblcms2-2",
        "libmount1",
        "libnspr4",
        "libnss3",
        "libpcre2-8-0",
        "libpcsclite1",
        "libpng16-16",
        "libselinux1",
        "libsqlite3-0",
        "libstdc++6",
        "openjdk-17-jre-headless",
        "zlib1g",
    ), 465),
}

PINNED_TRIXIE: dict[str, tuple[tuple[str, ...], int]] = {
    'java': ((
        "fontconfig-config",
        "fonts-dejavu-core",
        "fonts-dejavu-mono",
        "libatomic1",
        "libblkid1",
        "libbrotli1",
        "libbz2-1.0",
        "libc-bin",
        "libexpat1",
        "libffi8",
        "libfontconfig1",
        "libfreetype6",
        "libglib2.0-0t64",
        "libgraphite2-3",
        "libharfbuzz0b",
        "libjpeg62-turbo",
        "liblcms2-2",
        "libmount1",
        "libnspr4",
        "libnss3",
        "libpcre2-8-0",
        "libpcsclite1",
        "libpng16-16t64",
        "libselinux1",
        "libsqlite3-0",
        "libstdc++6",
        "openjdk-21-jre-headless",
        "zlib1g",
    ), 490),
}


def _own_layer(flavor: str, release: str = "bookworm") -> tuple[tuple[str, ...], int]:
    config = parse_config({"name": "pin", "base": flavor, "variant": "latest",
                           "release": release, "archs": ["amd64"]},
                          source="pins", base_dir=Path("/"))
    image = build(config).images[0]
    with tarfile.open(image.layers[-1].path, "r:gz") as tar:
        count = len(tar.getnames())
    created_by = json.loads(image.config_bytes)["history"][-1]["created_by"]
    listed = created_by.partition(": ")[2]
    return tuple(sorted(item.split()[0] for item in listed.split(", "))), count


@pytest.mark.parametrize("flavor", sorted(PINNED))
def test_flavor_layer_is_pinned(host_mirror: str, flavor: str) -> None:
    packages, count = _own_layer(flavor)
    expected_packages, expected_count = PINNED[flavor]
    assert packages == expected_packages
    assert count == expected_count


@pytest.mark.parametrize("flavor", sorted(PINNED_TRIXIE))
def test_trixie_flavor_layer_is_pinned(host_mirror: str, flavor: str) -> None:
    packages, count = _own_layer(flavor, "trixie")
    expected_packages, expected_count = PINNED_TRIXIE[flavor]
    assert packages == expected_packages
    assert count == expected_count
