"""Packages indexes: decompress them and turn their paragraphs into records.

A Packages file of Debian main holds some 60,000 paragraphs, so this module
does not use a general deb822 parser: one regular expression picks only the
fields a :class:`PackageRecord` needs (python-debian is several times slower).
"""

from __future__ import annotations

import gzip
import lzma
import re
import zlib
from pathlib import Path

from distill.debian.records import PackageRecord
from distill.errors import FormatError

_FIELDS = (
    "Package", "Version", "Architecture", "Filename", "Size", "SHA256", "Depends",
    "Pre-Depends", "Provides", "Conflicts", "Breaks", "Multi-Arch", "Essential", "Priority",
    "Source",
)
_FIELD = re.compile(
    r"^(" + "|".join(re.escape(name) for name in _FIELDS) + r"):[ \t]*(.*(?:\n[ \t].*)*)",
    re.MULTILINE,
)
_REQUIRED = ("Package", "Version", "Architecture", "Filename", "Size", "SHA256")


def read_index(path: Path, *, name: str) -> str:
    """The text of a Packages file at ``path``, decompressed by ``name``'s suffix."""
    try:
        data = path.read_bytes()
        if name.endswith(".xz"):
            data = lzma.decompress(data)
        elif name.endswith(".gz"):
            data = gzip.decompress(data)
        return data.decode("utf-8")
    except (OSError, lzma.LZMAError, zlib.error, EOFError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read Packages index {name} ({path}): {exc}") from exc


def package_versions(text: str, *, name: str) -> list[str]:
    """The Version of every paragraph of a Packages index whose Package is ``name``.

    Only those paragraphs are read, so this is much cheaper than parsing the index.
    """
    found = []
    start = re.compile(rf"^Package:[ \t]*{re.escape(name)}[ \t]*$", re.MULTILINE)
    for match in start.finditer(text):
        end = text.find("\n\n", match.end())
        paragraph = text[match.end(): end if end >= 0 else len(text)]
        version = re.search(r"^Version:[ \t]*(\S+)", paragraph, re.MULTILINE)
        if version is not None:
            found.append(version.group(1))
    return found


def parse_packages(text: str, *, suite: str, component: str, uri: str) -> list[PackageRecord]:
    """Every paragraph of a Packages index as a :class:`PackageRecord`."""
    records = []
    for number, paragraph in enumerate(text.split("\n\n"), start=1):
        fields = dict(_FIELD.findall(paragraph))
        if not fields:
            if paragraph.strip():
                raise FormatError(
                    f"Packages index of {suite}/{component} at {uri}: paragraph {number}"
                    " has no package fields"
                )
            continue
        records.append(
            _record(fields, where=f"Packages index of {suite}/{component} at {uri}",
                    suite=suite, component=component, uri=uri)
        )
    return records


def _record(
    fields: dict[str, str], *, where: str, suite: str, component: str, uri: str
) -> PackageRecord:
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        package = fields.get("Package", "?")
        raise FormatError(f"{where}: package {package} lacks {', '.join(missing)}")
    try:
        size = int(fields["Size"])
    except ValueError as exc:
        raise FormatError(f"{where}: package {fields['Package']} has a bad Size") from exc
    return PackageRecord(
        name=fields["Package"],
        version=fields["Version"],
        architecture=fields["Architecture"],
        filename=fields["Filename"],
        size=size,
        sha256=fields["SHA256"].lower(),
        suite=suite,
        component=component,
        uri=uri,
        depends=_unfold(fields.get("Depends", "")),
        pre_depends=_unfold(fields.get("Pre-Depends", "")),
        provides=_unfold(fields.get("Provides", "")),
        conflicts=_unfold(fields.get("Conflicts", "")),
        breaks=_unfold(fields.get("Breaks", "")),
        multi_arch=fields.get("Multi-Arch", "no") or "no",
        essential=fields.get("Essential", "no").lower() == "yes",
        priority=fields.get("Priority", ""),
        source=fields.get("Source", "").split(" ", 1)[0] or fields["Package"],
    )


def _unfold(value: str) -> str:
    """Join a folded field's continuation lines into one line."""
    if "\n" not in value:
        return value
    return " ".join(part.strip() for part in value.splitlines())
