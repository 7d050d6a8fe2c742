"""Relationship fields: Debian's syntax, parsed strictly, for one architecture."""

from __future__ import annotations

import logging

import pytest

from distill.debian.relations import Alternative, RelationError, parse_relations


def texts(field: str, arch: str = "amd64") -> list[list[str]]:
    return [[str(alt) for alt in group] for group in parse_relations(field, arch)]


def test_versions_qualifiers_restrictions_and_profiles() -> None:
    field = ("libc6 (>= 2.34), python3:any (>= 3.11~), a (<< 1:2.0+dfsg-1~deb12u1) [amd64] | b,"
             " c [!amd64], d <!nocheck> <stage1>, e (=1)")
    assert texts(field) == [
        ["libc6 (>= 2.34)"],
        ["python3:any (>= 3.11~)"],
        ["a (<< 1:2.0+dfsg-1~deb12u1)", "b"],
        ["d"],
        ["e (= 1)"],
    ]
    assert texts("c [!amd64]", "arm64") == [["c"]]
    assert parse_relations("x:any", "amd64") == ((Alternative(name="x", any_arch=True),),)


def test_folded_whitespace_is_allowed() -> None:
    assert texts(" a ,\tb  |  c ( >=  2 ) ") == [["a"], ["b", "c (>= 2)"]]
    assert texts("") == []


@pytest.mark.parametrize(
    "field",
    ["foo (>= 1, bar", "foo (>> 1", "a, , b", "a |", "a (=> 1)", "a [amd64", "(>= 1)", "a b"],
)
def test_broken_fields_raise_and_log_nothing(field: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RelationError, match=r"^cannot parse "):
        parse_relations(field, "amd64")
    assert caplog.records == []
