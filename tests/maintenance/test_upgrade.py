"""Upgrading locked packages against index records: which move, and what they pull in."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from distill.debian.lock import LockedPackage
from distill.debian.records import PackageRecord
from distill.errors import ResolveError
from distill.maintenance.upgrade import Change, upgrade_packages
from support.records import record

SECURITY = "bookworm-security"


def _locked(*records: PackageRecord, layer: str = "base") -> list[LockedPackage]:
    return [LockedPackage.from_record(r, layer=layer) for r in records]


def _upgrade(locked: Sequence[LockedPackage], records: Sequence[PackageRecord], *,
             security_only: bool = False, names: Sequence[str] = (),
             ignore: Sequence[str] = ()) -> tuple[dict[str, LockedPackage], list[Change]]:
    result, changes = upgrade_packages(locked, records, arch="amd64", ignore=ignore,
                                       security_only=security_only, names=names)
    return {p.name: p for p in result}, changes


LIBC = record("libc6", "2.36-9+deb12u4")
SSL = record("libssl3", "3.0.11-1", depends="libc6 (>= 2.34)")
ZSTD = record("libzstd1", "1.5.4-5", depends="libc6 (>= 2.34)")
INDEX = [
    LIBC, SSL, ZSTD,
    record("libc6", "2.36-9+deb12u7"),
    record("libssl3", "3.0.15-1", depends="libc6 (>= 2.34)", suite=SECURITY),
    record("libzstd1", "1.5.4-5+deb12u1", depends="libc6 (>= 2.34)", suite=SECURITY),
]


def test_security_only_takes_only_security_versions() -> None:
    after, changes = _upgrade(_locked(LIBC, SSL, ZSTD), INDEX, security_only=True)
    assert [(c.name, c.old, c.new, c.suite) for c in changes] == [
        ("libssl3", "3.0.11-1", "3.0.15-1", SECURITY),
        ("libzstd1", "1.5.4-5", "1.5.4-5+deb12u1", SECURITY)]
    assert after["libc6"] == _locked(LIBC)[0]
    assert after["libssl3"].layer == "base"
    assert after["libssl3"].sha256 == INDEX[4].sha256


def test_without_security_only_every_newer_version_is_taken() -> None:
    _, changes = _upgrade(_locked(LIBC, SSL, ZSTD), INDEX)
    assert {c.name: c.new for c in changes} == {
        "libc6": "2.36-9+deb12u7", "libssl3": "3.0.15-1", "libzstd1": "1.5.4-5+deb12u1"}


def test_named_packages_alone_move() -> None:
    after, changes = _upgrade(_locked(LIBC, SSL, ZSTD), INDEX, names=["libzstd1"])
    assert [c.name for c in changes] == ["libzstd1"]
    assert after["libssl3"] == _locked(SSL)[0]


def test_a_new_dependency_joins_the_layer_of_the_package_that_needs_it() -> None:
    index = [LIBC, SSL, record("libssl3", "3.0.15-1", suite=SECURITY,
                               depends="libc6 (>= 2.34), libnew1"),
             record("libnew1", "1.0", depends="libc6")]
    after, changes = _upgrade(_locked(LIBC, SSL, layer="cc"), index)
    assert ("libnew1", None, "1.0") in [(c.name, c.old, c.new) for c in changes]
    assert after["libnew1"].layer == "cc"


def test_an_upgrade_that_needs_another_newer_package_names_the_way_out() -> None:
    index = [*INDEX[:4], record("libssl3", "3.0.15-1", depends="libc6 (>= 2.36-9+deb12u7)",
                                suite=SECURITY)]
    with pytest.raises(ResolveError, match="name the packages to upgrade together"):
        _upgrade(_locked(LIBC, SSL), index, names=["libssl3"])
    _, changes = _upgrade(_locked(LIBC, SSL), index, names=["libssl3", "libc6"])
    assert {c.name for c in changes} == {"libssl3", "libc6"}


def test_a_locked_version_the_mirror_dropped_is_kept_as_it_was() -> None:
    old_libc = record("libc6", "2.36-9+deb12u1")
    after, changes = _upgrade(_locked(old_libc, SSL), INDEX, names=["libssl3"])
    assert [c.name for c in changes] == ["libssl3"]
    assert after["libc6"] == _locked(old_libc)[0]


def test_data_packages_move_without_being_resolved() -> None:
    certs = record("ca-certificates", "20230311", architecture="all", depends="openssl")
    newer = record("ca-certificates", "20250419", architecture="all", depends="openssl",
                   suite=SECURITY)
    after, changes = _upgrade([*_locked(LIBC), *_locked(certs, layer="data")],
                              [LIBC, certs, newer], security_only=True)
    assert [(c.name, c.new) for c in changes] == [("ca-certificates", "20250419")]
    assert after["ca-certificates"].layer == "data"
    assert "openssl" not in after


def test_nothing_newer_changes_nothing() -> None:
    locked = _locked(LIBC, SSL, ZSTD)
    after, changes = _upgrade(locked, [LIBC, SSL, ZSTD])
    assert changes == []
    assert list(after.values()) == locked
