"""PackageIndex lookups and dpkg version ordering."""

from __future__ import annotations

import itertools
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distill.debian.index import PackageIndex, compare_versions, parse_provides
from support.records import record

KNOWN_ORDER = [
    "0.9",
    "1.0~~",
    "1.0~rc1",
    "1.0~rc2",
    "1.0",
    "1.0-1",
    "1.0-1+deb12u1",
    "1.0-1+deb12u2",
    "1.0-2",
    "1.0a",
    "1.0+dfsg-1",
    "1.0.1",
    "1.10",
    "1:0.1",
    "2:0.0.1",
]


def test_known_dpkg_cases_are_ordered() -> None:
    for lower, higher in itertools.pairwise(KNOWN_ORDER):
        assert compare_versions(lower, higher) < 0, (lower, higher)
        assert compare_versions(higher, lower) > 0, (lower, higher)


def test_equal_versions_compare_equal() -> None:
    assert compare_versions("0:1.0-1", "1.0-1") == 0
    assert compare_versions("1.0-1", "1.0-1") == 0


_VERSIONS = st.builds(
    lambda epoch, upstream, revision: f"{epoch}{upstream}{revision}",
    st.sampled_from(["", "", "", "1:", "2:"]),
    st.from_regex(r"\A[0-9][0-9a-z.+~]{0,8}\Z"),
    st.sampled_from(["", "-1", "-2", "-1+deb12u1", "-1~bpo12+1", "-0.1", "-1ubuntu2"]),
)


@given(a=_VERSIONS, b=_VERSIONS, c=_VERSIONS)
def test_ordering_is_a_total_order(a: str, b: str, c: str) -> None:
    assert compare_versions(a, b) == -compare_versions(b, a)
    if compare_versions(a, b) <= 0 and compare_versions(b, c) <= 0:
        assert compare_versions(a, c) <= 0


def _dpkg_says_less(a: str, b: str) -> bool:
    result = subprocess.run(
        ["dpkg", "--compare-versions", a, "lt", b], check=False, capture_output=True
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
@settings(max_examples=150, deadline=None)
@given(a=_VERSIONS, b=_VERSIONS)
def test_ordering_matches_dpkg(a: str, b: str) -> None:
    assert (compare_versions(a, b) < 0) == _dpkg_says_less(a, b)
    assert (compare_versions(b, a) < 0) == _dpkg_says_less(b, a)


def test_versions_are_highest_first() -> None:
    index = PackageIndex([record("foo", "1.0-1"), record("foo", "1:0.5"), record("foo", "1.0~rc1")])
    assert [r.version for r in index.versions("foo")] == ["1:0.5", "1.0-1", "1.0~rc1"]
    assert index.versions("missing") == []


def test_same_version_in_two_suites_keeps_the_later_one() -> None:
    index = PackageIndex(
        [
            record("foo", "1.0", suite="bookworm"),
            record("foo", "1.0", suite="bookworm-security"),
            record("foo", "0.9", suite="bookworm"),
        ]
    )
    assert [(r.version, r.suite) for r in index.versions("foo")] == [
        ("1.0", "bookworm-security"),
        ("0.9", "bookworm"),
    ]
    assert len(index) == 2


def test_other_architectures_are_left_out() -> None:
    index = PackageIndex(
        [
            record("foo", "1.0", architecture="arm64"),
            record("bar", "1.0", architecture="all"),
            record("baz", "1.0"),
        ],
        arch="amd64",
    )
    assert "foo" not in index
    assert "bar" in index
    assert "baz" in index
    assert len(index) == 2


def test_providers_with_and_without_versions() -> None:
    index = PackageIndex(
        [
            record("mawk", "1.3.4", provides="awk"),
            record("gawk", "5.2", provides="awk, gawk-doc (= 5.2)"),
        ]
    )
    assert sorted((r.name, v) for r, v in index.providers("awk")) == [
        ("gawk", None),
        ("mawk", None),
    ]
    assert [(r.name, v) for r, v in index.providers("gawk-doc")] == [("gawk", "5.2")]
    assert "awk" in index
    assert index.providers("nothing") == []


def test_parse_provides_strips_arch_qualifiers_and_spaces() -> None:
    assert parse_provides(" a ,b (= 1:2.0-1), c:any ,") == [
        ("a", None),
        ("b", "1:2.0-1"),
        ("c", None),
    ]


def test_release_is_the_main_suite() -> None:
    index = PackageIndex(
        [record("a", "1", suite="bookworm-updates"), record("b", "1", suite="bookworm")]
    )
    assert index.release == "bookworm"
    assert PackageIndex([], release="trixie").release == "trixie"
