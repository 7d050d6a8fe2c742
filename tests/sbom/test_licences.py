"""Licences from Debian's machine-readable copyright files."""

from __future__ import annotations

import pytest

from distill.sbom.licences import debian_to_spdx, dep5_licences, licence_ref

HEADER = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"


@pytest.mark.parametrize(("debian", "spdx"), [
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("GFDL-1.3+", "GFDL-1.3-or-later"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("Expat", "MIT"),
    ("Zlib", "Zlib"),
    ("Apache-2.0", "Apache-2.0"),
    ("public-domain", "public-domain"),
])
def test_debian_short_names(debian: str, spdx: str) -> None:
    assert debian_to_spdx(debian) == spdx


def test_distinct_licences_of_files_paragraphs() -> None:
    text = HEADER + (
        "Files: *\nCopyright: someone\nLicense: GPL-2+\n\n"
        "Files: a/*\nCopyright: other\nLicense: LGPL-2.1+ or BSD-3-clause\n\n"
        "Files: b/*\nCopyright: third\nLicense: GPL-2+ with OpenSSL exception\n\n"
        "License: GPL-2+\n text of the licence\n"
    )
    assert dep5_licences(text) == ("BSD-3-Clause", "GPL-2.0-or-later", "LGPL-2.1-or-later")


def test_free_form_copyright_gives_nothing() -> None:
    assert dep5_licences("This package was debianized by someone.\n\nGPL-2, see above.\n") == ()


def test_licence_refs_are_safe_identifiers() -> None:
    assert licence_ref("public-domain") == "LicenseRef-public-domain"
    assert licence_ref("Custom licence (v2)") == "LicenseRef-Custom-licence-v2"
