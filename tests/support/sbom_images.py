"""An image distill did not build, made of hand-written layers, for the SBOM tests."""

from __future__ import annotations

import json
from pathlib import Path

from distill.oci.model import Image
from support.sbom import Entry, image_of, jar, tar_layer

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hello

Files: *
Copyright: 1992-2022 Free Software Foundation, Inc.
License: GPL-3+

Files: lib/*
Copyright: 2001 Someone
License: Expat or other-custom

License: GPL-3+
 This program is free software.
"""

STATUS = """\
Package: hello
Status: install ok installed
Priority: optional
Architecture: amd64
Source: hello-source
Version: 2.10-3
Conffiles:
 /etc/hello.conf 0123456789abcdef0123456789abcdef
Description: example package
 based on GNU Hello

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
Description: removed, its configuration kept
"""

HELLO_LIST = """\
/.
/usr
/usr/bin
/usr/bin/hello
/bin/hello2
/usr/bin/removed
/usr/share/doc/hello/copyright
"""

METADATA = "Metadata-Version: 2.4\nName: Demo_Pkg\nVersion: 1.0\n" \
           "License-Expression: MIT OR Apache-2.0\n\nA demo.\n"
SITE = "usr/lib/python3/dist-packages"
RECORD = """\
demo_pkg/__init__.py,sha256=x,1
demo_pkg-1.0.dist-info/METADATA,,
demo_pkg-1.0.dist-info/RECORD,,
../../../bin/demo,,
"""


def make_foreign_image(blobs: Path) -> Image:
    """An image distill did not build: a dpkg database with a package whose files partly sit
    behind /bin -> usr/bin, one file whited out by the second layer, which also adds a
    Python distribution, npm packages and jars. Its layer blobs go into ``blobs``."""
    base = tar_layer(blobs, [
        Entry("etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
                                b'VERSION_ID="12"\n'),
        Entry("etc/hello.conf", b"greeting=hi\n"),
        Entry("usr", kind="dir", mode=0o755),
        Entry("usr/bin", kind="dir", mode=0o755),
        Entry("bin", kind="symlink", target="usr/bin"),
        Entry("usr/bin/hello", b"\x7fELF hello", mode=0o755),
        Entry("usr/bin/hello2", b"\x7fELF hello2", mode=0o755),
        Entry("usr/bin/removed", b"soon gone"),
        Entry("usr/share/doc/hello/copyright", COPYRIGHT.encode()),
        Entry("var/lib/dpkg/status", STATUS.encode()),
        Entry("var/lib/dpkg/info/hello.list", HELLO_LIST.encode()),
    ])
    app = tar_layer(blobs, [
        Entry("usr/bin/.wh.removed"),
        Entry(f"{SITE}/demo_pkg/__init__.py", b"VALUE = 1\n"),
        Entry(f"{SITE}/demo_pkg-1.0.dist-info/METADATA", METADATA.encode()),
        Entry(f"{SITE}/demo_pkg-1.0.dist-info/RECORD", RECORD.encode()),
        Entry("usr/bin/demo", b"#!/usr/bin/python3\n", mode=0o755),
        Entry("app/node_modules/left-pad/package.json",
              json.dumps({"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}).encode()),
        Entry("app/node_modules/left-pad/index.js", b"module.exports = 1;\n"),
        Entry("app/node_modules/left-pad/node_modules/inner/package.json",
              json.dumps({"name": "inner", "version": "0.1.0"}).encode()),
        Entry("app/node_modules/@scope/thing/package.json",
              json.dumps({"name": "@scope/thing", "version": "2.0.0",
                          "license": {"type": "ISC"}}).encode()),
        Entry("app/lib/app.jar", jar({
            "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\n",
            "META-INF/maven/com.example/app/pom.properties":
                "groupId=com.example\nartifactId=app\nversion=3.1.4\n",
        })),
        Entry("app/lib/plain.jar", jar({
            "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\nImplementation-Title: plain\n"
                                    "Implementation-Version: 0.9\n",
        })),
    ])
    return image_of([base, app])
