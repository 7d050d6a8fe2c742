"""Comparing installed versions with index records: newer, security, unknown."""

from __future__ import annotations

from distill.debian.sources import Source
from distill.maintenance.outdated import (
    OutdatedReport,
    Pinned,
    find_updates,
    is_security_suite,
    merge_reports,
)
from support.records import record

SOURCES = [
    Source(uri="http://mirror.invalid/debian", suites=("bookworm", "bookworm-updates"),
           components=("main",)),
    Source(uri="http://mirror.invalid/debian-security", suites=("bookworm-security",),
           components=("main",)),
]


def _report(pinned: dict[str, str], *records: object) -> OutdatedReport:
    return find_updates([Pinned(name=n, version=v) for n, v in pinned.items()],
                        list(records),  # type: ignore[arg-type]
                        release="bookworm", sources=SOURCES)


def test_a_security_version_is_marked_and_named_by_its_suite() -> None:
    report = _report(
        {"libssl3": "3.0.11-1~deb12u2"},
        record("libssl3", "3.0.11-1~deb12u2"),
        record("libssl3", "3.0.15-1~deb12u1", suite="bookworm-security"),
    )
    assert [u.to_json() for u in report.updates] == [{
        "name": "libssl3", "installed": "3.0.11-1~deb12u2", "available": "3.0.15-1~deb12u1",
        "security": True, "suite": "bookworm-security"}]
    assert report.security_updates == report.updates


def test_an_updates_version_is_not_security() -> None:
    report = _report({"tzdata": "2024a-0+deb12u1"},
                     record("tzdata", "2024a-0+deb12u1", architecture="all"),
                     record("tzdata", "2024b-0+deb12u1", architecture="all",
                            suite="bookworm-updates"))
    assert [(u.available, u.suite, u.security) for u in report.updates] == [
        ("2024b-0+deb12u1", "bookworm-updates", False)]
    assert report.security_updates == ()


def test_a_point_release_newer_than_the_security_fix_still_counts_as_security() -> None:
    report = _report({"libc6": "2.36-9+deb12u3"},
                     record("libc6", "2.36-9+deb12u4", suite="bookworm-security"),
                     record("libc6", "2.36-9+deb12u7"))
    (update,) = report.updates
    assert (update.available, update.suite, update.security) == (
        "2.36-9+deb12u7", "bookworm", True)


def test_the_same_newest_version_in_two_suites_names_the_security_one() -> None:
    report = _report({"libc6": "2.36-9+deb12u3"},
                     record("libc6", "2.36-9+deb12u4"),
                     record("libc6", "2.36-9+deb12u4", suite="bookworm-security"))
    assert report.updates[0].suite == "bookworm-security"


def test_dpkg_ordering_decides_what_is_newer() -> None:
    report = _report({"epoch": "1:1.0", "tilde": "1.0", "same": "2.0", "older": "3.0"},
                     record("epoch", "9.0"), record("tilde", "1.0~rc1"),
                     record("same", "2.0"), record("older", "2.9"),
                     record("tilde", "1.0+b1", suite="bookworm-updates"))
    assert [(u.name, u.available) for u in report.updates] == [("tilde", "1.0+b1")]


def test_packages_no_index_has_are_listed_as_unknown() -> None:
    report = _report({"distill-probe": "1.0", "zlib1g": "1:1.2.13.dfsg-1"},
                     record("zlib1g", "1:1.2.13.dfsg-1"))
    assert report.to_json() == {"packages": [], "unknown": ["distill-probe"]}
    assert report.suites == ("bookworm", "bookworm-updates", "bookworm-security")
    assert report.sees_security


def test_security_suite_names() -> None:
    assert is_security_suite("bookworm-security")
    assert is_security_suite("buster/updates")
    assert not is_security_suite("bookworm-updates")
    main_only = find_updates([], [], release="bookworm", sources=SOURCES[:1])
    assert not main_only.sees_security


def test_reports_of_several_architectures_merge_without_repeats() -> None:
    amd = _report({"a": "1", "b": "1"}, record("a", "2"), record("b", "1"))
    arm = _report({"a": "1", "c": "1"}, record("a", "2", architecture="arm64"))
    merged = merge_reports([amd, arm])
    assert [(u.name, u.available) for u in merged.updates] == [("a", "2")]
    assert merged.unknown == ("c",)
