"""Licences: Debian's machine-readable copyright files, and SPDX identifiers.

A DEP-5 copyright file (``Format: https://www.debian.org/doc/packaging-manuals/
copyright-format/1.0/``) names a licence in each ``Files:`` paragraph; the
distinct names are collected and the common Debian short names mapped to SPDX
identifiers (``GPL-2+`` -> ``GPL-2.0-or-later``). Anything else becomes a
``LicenseRef-`` in the writers. Free-form copyright files give nothing.
"""

from __future__ import annotations

import re

from debian.deb822 import Deb822

_FORMAT_MARK = "copyright-format/1.0"

_DEBIAN_TO_SPDX = {
    "apache-2.0": "Apache-2.0",
    "artistic": "Artistic-1.0-Perl",
    "artistic-1.0": "Artistic-1.0",
    "artistic-2.0": "Artistic-2.0",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-4-clause": "BSD-4-Clause",
    "cc0": "CC0-1.0",
    "cc0-1.0": "CC0-1.0",
    "expat": "MIT",
    "mit": "MIT",
    "isc": "ISC",
    "zlib": "Zlib",
    "mpl-1.1": "MPL-1.1",
    "mpl-2.0": "MPL-2.0",
    "psf-2": "Python-2.0",
    "python-2.0": "Python-2.0",
    "openssl": "OpenSSL",
    "curl": "curl",
    "unicode-dfs-2016": "Unicode-DFS-2016",
    "ftl": "FTL",
    "bsl-1.0": "BSL-1.0",
    "boost-1.0": "BSL-1.0",
    "x11": "X11",
    "ofl-1.1": "OFL-1.1",
    "wtfpl": "WTFPL",
    "unlicense": "Unlicense",
}
_GNU = re.compile(r"^(a?gpl|lgpl|gfdl)-?(\d(?:\.\d)?)(\+?)$")
_SPLIT = re.compile(r"\s+(?:or|and)\s+|,", re.IGNORECASE)
_REF_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def dep5_licences(text: str) -> tuple[str, ...]:
    """The distinct SPDX ids (or Debian names) of a DEP-5 file's ``Files:`` paragraphs,
    sorted; empty when the file is not machine-readable."""
    paragraphs = list(Deb822.iter_paragraphs(text))
    if not paragraphs or _FORMAT_MARK not in str(paragraphs[0].get("Format", "")):
        return ()
    found: set[str] = set()
    for paragraph in paragraphs:
        if "Files" not in paragraph or "License" not in paragraph:
            continue
        first_line = str(paragraph["License"]).split("\n", 1)[0]
        found.update(debian_to_spdx(name) for name in _names(first_line))
    return tuple(sorted(found))


def debian_to_spdx(name: str) -> str:
    """The SPDX id for a Debian licence short name, or the name as it is."""
    bare = name.strip()
    lowered = bare.lower()
    if lowered in _DEBIAN_TO_SPDX:
        return _DEBIAN_TO_SPDX[lowered]
    match = _GNU.match(lowered)
    if match:
        family, number, plus = match.groups()
        if "." not in number:
            number += ".0"
        return f"{family.upper()}-{number}-{'or-later' if plus else 'only'}"
    return bare


def licence_ref(name: str) -> str:
    """A ``LicenseRef-`` identifier for a licence name that is not an SPDX id."""
    return "LicenseRef-" + (_REF_UNSAFE.sub("-", name).strip("-") or "unknown")


def _names(expression: str) -> list[str]:
    # "GPL-2+ with OpenSSL exception" names GPL-2+; the exception stays out of the id.
    names = [part.split(" with ", 1)[0].strip() for part in _SPLIT.split(expression)]
    return [n for n in names if n]
