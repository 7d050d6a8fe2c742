"""Packages indexes: decompression and paragraph parsing."""

from __future__ import annotations

import gzip
import lzma
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.debian.packages import package_versions, parse_packages, read_index
from distill.debian.records import PackageRecord
from distill.errors import FormatError

SHA_A = "a" * 64
SHA_B = "B" * 64
INDEX = f"""\
Package: libfoo1
Source: foo (1.2-3)
Version: 1.2-3+b1
Installed-Size: 100
Maintainer: Someone <someone@example.org>
Architecture: amd64
Multi-Arch: same
Depends: libc6 (>= 2.34),
 libbar | libbaz
Pre-Depends: dpkg (>= 1.15)
Provides: foo-api (= 1)
Conflicts: libfoo0
Breaks: foo-tools (<< 1.2),
 foo-utils
Description: a library
 with a long description
 .
 Package: not-a-field
Priority: optional
Essential: yes
Filename: pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb
Size: 1234
SHA256: {SHA_A}

Package: foo-data
Version: 1:2.0
Architecture: all
Filename: pool/main/f/foo/foo-data_2.0_all.deb
Size: 99
SHA256: {SHA_B}
"""


def test_parses_every_field_a_record_needs() -> None:
    records = parse_packages(INDEX, suite="bookworm", component="main", uri="http://m/debian")

    assert records == [
        PackageRecord(
            name="libfoo1", version="1.2-3+b1", architecture="amd64",
            filename="pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb", size=1234, sha256=SHA_A,
            suite="bookworm", component="main", uri="http://m/debian",
            depends="libc6 (>= 2.34), libbar | libbaz", pre_depends="dpkg (>= 1.15)",
            provides="foo-api (= 1)", conflicts="libfoo0",
            breaks="foo-tools (<< 1.2), foo-utils", multi_arch="same", essential=True,
            priority="optional", source="foo",
        ),
        PackageRecord(
            name="foo-data", version="1:2.0", architecture="all",
            filename="pool/main/f/foo/foo-data_2.0_all.deb", size=99, sha256=SHA_B.lower(),
            suite="bookworm", component="main", uri="http://m/debian", source="foo-data",
        ),
    ]


def test_blank_lines_at_the_end_and_empty_index() -> None:
    assert parse_packages("", suite="s", component="c", uri="u") == []
    assert len(parse_packages(INDEX + "\n\n\n", suite="s", component="c", uri="u")) == 2


def test_a_paragraph_without_a_required_field_names_the_package() -> None:
    text = "Package: broken\nVersion: 1\nArchitecture: all\nSize: 1\nSHA256: x\n"

    with pytest.raises(FormatError, match=r"Packages index of s/c at u: package broken lacks "
                                          r"Filename$"):
        parse_packages(text, suite="s", component="c", uri="u")


def test_a_bad_size_is_a_format_error() -> None:
    text = INDEX.replace("Size: 99", "Size: lots")

    with pytest.raises(FormatError, match="package foo-data has a bad Size"):
        parse_packages(text, suite="s", component="c", uri="u")


@pytest.mark.parametrize(("name", "compress"), [
    ("main/binary-amd64/Packages.xz", lzma.compress),
    ("main/binary-amd64/Packages.gz", gzip.compress),
    ("main/binary-amd64/Packages", bytes),
])
def test_read_index_decompresses_by_name(
    tmp_path: Path, name: str, compress: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "index"
    path.write_bytes(compress(INDEX.encode()))

    assert read_index(path, name=name) == INDEX


def test_a_corrupt_compressed_index_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "index"
    path.write_bytes(lzma.compress(INDEX.encode())[:-20])

    with pytest.raises(FormatError, match=r"cannot read Packages index main/Packages\.xz"):
        read_index(path, name="main/Packages.xz")


@pytest.mark.mirror
def test_a_real_index_parses_completely(pristine_copy: Any) -> None:
    text = read_index(pristine_copy.root / "debian" / pristine_copy.index_path,
                      name="Packages.xz")

    records = parse_packages(text, suite="s", component="main", uri="u")

    assert len(records) == text.count("\nPackage: ") + text.startswith("Package: ")
    assert records
    assert all(len(record.sha256) == 64 and record.size > 0 for record in records)
    assert all(record.filename.startswith("pool/") for record in records)
    assert {record.architecture for record in records} <= {"amd64", "all"}


def test_package_versions_reads_only_the_named_paragraphs() -> None:
    assert package_versions(INDEX, name="foo-data") == ["1:2.0"]
    assert package_versions(INDEX, name="libfoo1") == ["1.2-3+b1"]
    assert package_versions(INDEX, name="not-a-field") == []
    assert package_versions(INDEX, name="libfoo") == []
    assert package_versions(INDEX + "\n" + INDEX, name="foo-data") == ["1:2.0", "1:2.0"]


@pytest.mark.mirror
def test_package_versions_agrees_with_the_full_parse(pristine_copy: Any) -> None:
    text = read_index(pristine_copy.root / "debian" / pristine_copy.index_path,
                      name="Packages.xz")
    records = parse_packages(text, suite="s", component="main", uri="u")

    for record in records[:: max(1, len(records) // 20)]:
        expected = [r.version for r in records if r.name == record.name]
        assert package_versions(text, name=record.name) == expected
