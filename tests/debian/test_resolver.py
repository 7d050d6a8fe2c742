"""Dependency resolution: hand-made graphs for each rule, then the real bookworm index."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from distill.debian.index import PackageIndex
from distill.debian.relations import parse_relations
from distill.debian.repository import load_packages
from distill.debian.resolver import parse_request, resolve
from distill.debian.sources import debian_sources_for, read_host_sources
from distill.errors import FormatError, ResolveError
from support.records import record


def installed(index: PackageIndex, *requests: str, **kwargs: object) -> dict[str, str]:
    """Resolve ``requests`` on amd64 and return name -> version."""
    result = resolve(index, list(requests), arch="amd64", **kwargs)  # type: ignore[arg-type]
    return {r.name: r.version for r in result}


# -- parsing -----------------------------------------------------------------


def test_requests_in_the_three_forms() -> None:
    assert str(parse_request("foo", "amd64")[0]) == "foo"
    assert str(parse_request("foo=1.2-3", "amd64")[0]) == "foo (= 1.2-3)"
    assert str(parse_request("foo (>= 1.2)", "amd64")[0]) == "foo (>= 1.2)"


def test_a_broken_request_is_a_resolve_error_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ResolveError, match=r"^cannot parse package request 'foo \(>= 1': "):
        parse_request("foo (>= 1", "amd64")
    assert caplog.records == []


def test_arch_restrictions_and_qualifiers() -> None:
    field = "a [!amd64] | b [amd64], c [arm64], d:native, e:any, f:arm64 | g, h (< 2)"
    groups = parse_relations(field, "amd64")
    assert [[str(alt) for alt in group] for group in groups] == [
        ["b"],
        ["d"],
        ["e:any"],
        ["g"],
        ["h (<= 2)"],
    ]
    assert [[str(alt) for alt in g] for g in parse_relations(field, "arm64")][:2] == [
        ["a"],
        ["c"],
    ]


# -- rules -------------------------------------------------------------------


def test_follows_depends_and_pre_depends_not_recommends() -> None:
    index = PackageIndex(
        [
            record("app", depends="liba", pre_depends="libpre"),
            record("liba", depends="libb"),
            record("libb"),
            record("libpre"),
            record("recommended"),
        ]
    )
    assert installed(index, "app") == {"app": "1.0", "liba": "1.0", "libb": "1.0", "libpre": "1.0"}


def test_result_is_sorted_and_without_duplicates() -> None:
    index = PackageIndex([record("z", depends="a, a"), record("a", depends="z")])
    assert [r.name for r in resolve(index, ["z", "a", "z"], arch="amd64")] == ["a", "z"]


def test_alternatives_take_the_first_satisfiable_one() -> None:
    index = PackageIndex(
        [record("app", depends="missing | second | third"), record("second"), record("third")]
    )
    assert installed(index, "app") == {"app": "1.0", "second": "1.0"}


def test_alternatives_prefer_one_already_chosen() -> None:
    index = PackageIndex(
        [record("app", depends="first | second"), record("first"), record("second")]
    )
    assert installed(index, "second", "app") == {"app": "1.0", "second": "1.0"}


def test_highest_version_that_meets_the_constraint() -> None:
    index = PackageIndex(
        [
            record("app", depends="lib (>= 1.0), lib (<< 3.0)"),
            record("lib", "0.9"),
            record("lib", "1.5"),
            record("lib", "2.0~rc1"),
            record("lib", "3.0"),
        ]
    )
    assert installed(index, "app")["lib"] == "2.0~rc1"
    assert installed(index, "lib")["lib"] == "3.0"
    assert installed(index, "lib=1.5")["lib"] == "1.5"
    assert installed(index, "lib (<< 1.5)")["lib"] == "0.9"


def test_a_later_tighter_constraint_changes_an_earlier_choice() -> None:
    index = PackageIndex(
        [
            record("app", depends="lib, tool"),
            record("tool", depends="lib (<< 2.0)"),
            record("lib", "1.0"),
            record("lib", "2.0", depends="newdep"),
            record("newdep"),
        ]
    )
    assert installed(index, "app") == {"app": "1.0", "tool": "1.0", "lib": "1.0"}


def test_an_exact_version_pulls_the_matching_sibling() -> None:
    index = PackageIndex(
        [
            record("python", "3.11.2-6+deb12u1", depends="libpython (= 3.11.2-6+deb12u1)"),
            record("libpython", "3.11.2-6+deb12u1"),
            record("libpython", "3.11.2-6+deb12u2"),
            record("other", depends="libpython"),
        ]
    )
    assert installed(index, "other", "python")["libpython"] == "3.11.2-6+deb12u1"


def test_virtual_package_unversioned_provides() -> None:
    index = PackageIndex(
        [
            record("base-files", pre_depends="awk"),
            record("gawk", "5.2", provides="awk", priority="optional"),
            record("mawk", "1.3", provides="awk", priority="required"),
        ]
    )
    assert installed(index, "base-files") == {"base-files": "1.0", "mawk": "1.3"}


def test_versioned_dependency_needs_a_versioned_provides() -> None:
    index = PackageIndex(
        [
            record("app", depends="virt (>= 2)"),
            record("unversioned", provides="virt"),
            record("old", provides="virt (= 1)"),
            record("new", provides="virt (= 2.5)"),
        ]
    )
    assert installed(index, "app") == {"app": "1.0", "new": "1.0"}


def test_a_chosen_provider_satisfies_later_dependencies() -> None:
    index = PackageIndex(
        [
            record("app", depends="mawk, awk"),
            record("gawk", provides="awk", priority="required"),
            record("mawk", provides="awk", priority="optional"),
        ]
    )
    assert installed(index, "app") == {"app": "1.0", "mawk": "1.0"}


def test_multi_arch_any_needs_multi_arch_allowed() -> None:
    index = PackageIndex(
        [
            record("script", depends="python3:any", architecture="all"),
            record("python3", "3.11", multi_arch="allowed"),
            record("tool", depends="perl:any"),
            record("perl", "5.36"),
        ]
    )
    assert installed(index, "script") == {"script": "1.0", "python3": "3.11"}
    with pytest.raises(ResolveError, match=r"cannot install perl:any: not Multi-Arch: allowed"):
        resolve(index, ["tool"], arch="amd64")


def test_arch_restricted_dependencies_are_honoured() -> None:
    index = PackageIndex(
        [
            record("app", depends="libamd [amd64], libarm [arm64], libnotamd [!amd64]"),
            record("libamd"),
            record("libnotamd"),
        ]
    )
    assert installed(index, "app") == {"app": "1.0", "libamd": "1.0"}


def test_ignored_names_count_as_satisfied() -> None:
    index = PackageIndex(
        [
            record("tzdata", depends="debconf (>= 0.5) | debconf-2.0"),
            record("debconf", provides="debconf-2.0", depends="perl-base"),
            record("perl-base"),
        ]
    )
    assert installed(index, "tzdata", ignore={"debconf", "debconf-2.0"}) == {"tzdata": "1.0"}
    assert "debconf" in installed(index, "tzdata")


def test_unknown_package_suggests_close_names() -> None:
    index = PackageIndex([record("libssl3"), record("libssl-dev"), record("zlib1g")])
    with pytest.raises(ResolveError) as error:
        resolve(index, ["libsll3"], arch="amd64")
    assert str(error.value) == (
        "unknown package 'libsll3' in bookworm/amd64; did you mean 'libssl3'?"
    )
    with pytest.raises(ResolveError, match=r"^unknown package 'qqqqqqqqq' in bookworm/amd64$"):
        resolve(index, ["qqqqqqqqq"], arch="amd64")


def test_failure_names_the_package_the_reason_and_the_chain() -> None:
    index = PackageIndex(
        [
            record("baz", depends="bar"),
            record("bar", depends="libfoo (>= 2.0)"),
            record("libfoo", "1.4-2"),
        ]
    )
    with pytest.raises(ResolveError) as error:
        resolve(index, ["baz"], arch="amd64")
    assert str(error.value) == (
        "cannot install libfoo (>= 2.0): no version available (available: 1.4-2); "
        "required by bar -> baz"
    )


def test_failure_of_a_missing_dependency() -> None:
    index = PackageIndex([record("app", depends="gone | also-gone")])
    with pytest.raises(ResolveError) as error:
        resolve(index, ["app"], arch="amd64")
    assert str(error.value) == (
        "cannot install gone | also-gone: gone: no such package in bookworm/amd64; "
        "also-gone: no such package in bookworm/amd64; required by app"
    )


def test_an_impossible_constraint_on_a_chosen_package_fails_at_once() -> None:
    index = PackageIndex(
        [record("app", depends="lib, tool"), record("tool", depends="lib (>= 5)"), record("lib")]
    )
    with pytest.raises(ResolveError) as error:
        resolve(index, ["app"], arch="amd64")
    assert str(error.value) == (
        "cannot install lib (>= 5): no version available (available: 1.0); required by tool -> app"
    )


def test_a_virtual_package_without_a_suitable_provider() -> None:
    index = PackageIndex([record("app", depends="virt (>= 2)"), record("p", provides="virt")])
    with pytest.raises(ResolveError) as error:
        resolve(index, ["app"], arch="amd64")
    assert str(error.value) == (
        "cannot install virt (>= 2): no provider meets the constraint (provided by: p); "
        "required by app"
    )


def test_conflicting_constraints_fail_with_both_named() -> None:
    index = PackageIndex(
        [
            record("app", depends="one, two"),
            record("one", depends="lib (>= 2)"),
            record("two", depends="lib (<< 2)"),
            record("lib", "1.0"),
            record("lib", "2.0"),
        ]
    )
    with pytest.raises(ResolveError) as error:
        resolve(index, ["app"], arch="amd64")
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        "cannot install lib (>= 2): no version also satisfies lib (<< 2) "
        "(required by two -> app) (available: 2.0, 1.0); required by one -> app"
    )


# -- the real bookworm index -------------------------------------------------


def _bookworm_index(arch: str, cache: Path) -> PackageIndex:
    """bookworm (+ updates, security) for ``arch`` from the host's apt sources, verified."""
    sources = debian_sources_for(read_host_sources(), "bookworm")
    records = load_packages(sources, arch=arch, cache=cache)
    return PackageIndex(records, arch=arch)


@pytest.fixture(scope="session")
def amd64(host_mirror: str, distill_cache_root: Path) -> PackageIndex:
    return _bookworm_index("amd64", distill_cache_root)


@pytest.fixture(scope="session")
def arm64(host_mirror: str, distill_cache_root: Path) -> PackageIndex:
    return _bookworm_index("arm64", distill_cache_root)


def names(index: PackageIndex, *requests: str, arch: str = "amd64", **kw: object) -> set[str]:
    result = resolve(index, list(requests), arch=arch, **kw)  # type: ignore[arg-type]
    assert [r.name for r in result] == sorted({r.name for r in result})
    assert all(r.architecture in (arch, "all") for r in result)
    return {r.name for r in result}


@pytest.mark.mirror
def test_real_index_is_large_and_release_is_bookworm(amd64: PackageIndex) -> None:
    assert len(amd64) > 60000
    assert amd64.release == "bookworm"
    assert "awk" in amd64


@pytest.mark.mirror
def test_real_libc6(amd64: PackageIndex) -> None:
    assert names(amd64, "libc6") == {"libc6", "libgcc-s1", "gcc-12-base"}


@pytest.mark.mirror
def test_real_base_files_needs_only_awk_ignored(amd64: PackageIndex) -> None:
    assert names(amd64, "base-files", ignore={"awk"}) == {"base-files"}
    assert "mawk" in names(amd64, "base-files")


@pytest.mark.mirror
def test_real_tzdata_without_debconf(amd64: PackageIndex) -> None:
    assert names(amd64, "tzdata", ignore={"debconf", "debconf-2.0"}) == {"tzdata"}
    with_debconf = names(amd64, "tzdata")
    assert {"tzdata", "debconf"} <= with_debconf


@pytest.mark.mirror
def test_real_ca_certificates(amd64: PackageIndex) -> None:
    result = names(amd64, "ca-certificates", ignore={"debconf", "debconf-2.0"})
    assert {"ca-certificates", "openssl", "libssl3", "libc6"} <= result


@pytest.mark.mirror
def test_real_libssl3_takes_the_newest_suite(amd64: PackageIndex) -> None:
    (libssl,) = [r for r in resolve(amd64, ["libssl3"], arch="amd64") if r.name == "libssl3"]
    assert libssl.version == amd64.versions("libssl3")[0].version
    assert names(amd64, "libssl3") == {"libssl3", "libc6", "libgcc-s1", "gcc-12-base"}


@pytest.mark.mirror
@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_real_python311_minimal(arch: str, request: pytest.FixtureRequest) -> None:
    index: PackageIndex = request.getfixturevalue(arch)
    result = resolve(index, ["python3.11"], arch=arch)
    by_name = {r.name: r for r in result}
    assert {"python3.11-minimal", "libpython3.11-stdlib", "libpython3.11-minimal"} <= set(by_name)
    assert by_name["python3.11"].version == by_name["libpython3.11-stdlib"].version
    assert all(r.architecture in (arch, "all") for r in result)
    assert "libc6" in names(index, "python3.11-minimal", arch=arch)


@pytest.mark.mirror
@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_real_openjdk17_headless(arch: str, request: pytest.FixtureRequest) -> None:
    index: PackageIndex = request.getfixturevalue(arch)
    ignore = {"debconf", "debconf-2.0", "awk", "java-common", "ca-certificates-java"}
    result = names(index, "openjdk-17-jre-headless", arch=arch, ignore=ignore)
    assert {"openjdk-17-jre-headless", "libc6", "zlib1g", "libcups2"} <= result
    assert not {"debconf", "java-common", "ca-certificates-java"} & result
    assert "fonts-dejavu-extra" not in result  # a Suggests, never followed
    assert 40 < len(result) < 80


@pytest.mark.mirror
def test_real_unknown_package_suggests(amd64: PackageIndex) -> None:
    with pytest.raises(ResolveError, match=r"did you mean 'libssl3'"):
        resolve(amd64, ["libssl33"], arch="amd64")


# -- Conflicts and Breaks ----------------------------------------------------


def test_two_requests_that_conflict_fail_with_both_chains() -> None:
    index = PackageIndex(
        [
            record("web", depends="postfix"),
            record("mail", depends="exim"),
            record("postfix", "3.7", provides="mta", conflicts="mta"),
            record("exim", "4.96", provides="mta", conflicts="mta"),
        ]
    )
    with pytest.raises(ResolveError) as error:
        resolve(index, ["web", "mail"], arch="amd64")
    assert str(error.value) == (
        "cannot install exim: exim 4.96 conflicts with postfix 3.7, required by web "
        "(postfix Conflicts: mta, which exim provides); required by mail"
    )


def test_conflicts_on_a_real_name_in_either_direction() -> None:
    index = PackageIndex([record("a", conflicts="b"), record("b")])
    with pytest.raises(ResolveError, match=r"^cannot install b: b 1.0 conflicts with a 1.0, "
                       r"requested directly \(a Conflicts: b\); requested directly$"):
        resolve(index, ["a", "b"], arch="amd64")
    with pytest.raises(ResolveError, match=r"^cannot install a: a 1.0 conflicts with b 1.0, "
                       r"requested directly \(a Conflicts: b\); requested directly$"):
        resolve(index, ["b", "a"], arch="amd64")


def test_a_package_never_conflicts_with_itself_or_what_it_provides() -> None:
    index = PackageIndex(
        [record("postfix", provides="mta", conflicts="mta, postfix"), record("app", depends="mta")]
    )
    assert installed(index, "app", "postfix") == {"app": "1.0", "postfix": "1.0"}


def test_breaks_with_a_version_takes_an_older_version_of_the_breaker() -> None:
    index = PackageIndex(
        [
            record("lib", "2.0", breaks="tool (<< 5)"),
            record("lib", "1.0"),
            record("tool", "4"),
        ]
    )
    assert installed(index, "lib", "tool") == {"lib": "1.0", "tool": "4"}
    assert installed(index, "lib") == {"lib": "2.0"}


def test_versioned_conflicts_on_a_virtual_name_need_a_versioned_provides() -> None:
    unversioned = PackageIndex([record("a", conflicts="virt (<< 2)"), record("b", provides="virt")])
    assert installed(unversioned, "a", "b") == {"a": "1.0", "b": "1.0"}
    versioned = PackageIndex(
        [record("a", conflicts="virt (<< 2)"), record("b", provides="virt (= 1)")]
    )
    with pytest.raises(ResolveError, match="a Conflicts: virt \\(<< 2\\), which b provides"):
        resolve(versioned, ["a", "b"], arch="amd64")


def test_an_alternative_that_would_conflict_is_passed_over() -> None:
    index = PackageIndex(
        [
            record("x", conflicts="a"),
            record("app", depends="a | b"),
            record("a"),
            record("b"),
        ]
    )
    assert installed(index, "x", "app") == {"x": "1.0", "app": "1.0", "b": "1.0"}


def test_an_alternative_chosen_before_the_conflict_is_seen_is_replaced() -> None:
    index = PackageIndex(
        [
            record("app", depends="mta-a | mta-b"),
            record("tool", depends="helper"),
            record("helper", breaks="mta-a"),
            record("mta-a"),
            record("mta-b"),
        ]
    )
    assert installed(index, "app", "tool") == {
        "app": "1.0", "tool": "1.0", "helper": "1.0", "mta-b": "1.0",
    }


def test_the_alternative_that_brought_a_conflicting_dependency_is_replaced() -> None:
    index = PackageIndex(
        [
            record("core"),
            record("app", depends="front-a | front-b"),
            record("front-a", depends="lib-a"),
            record("lib-a", conflicts="core"),
            record("front-b"),
        ]
    )
    assert installed(index, "core", "app") == {"core": "1.0", "app": "1.0", "front-b": "1.0"}


def test_when_no_alternative_avoids_the_conflict_the_error_explains_it() -> None:
    index = PackageIndex(
        [
            record("core"),
            record("app", depends="front-a | front-b"),
            record("front-a", depends="lib-a"),
            record("front-b", depends="lib-a"),
            record("lib-a", conflicts="core"),
        ]
    )
    with pytest.raises(ResolveError) as error:
        resolve(index, ["core", "app"], arch="amd64")
    assert str(error.value) == (
        "cannot install lib-a: lib-a 1.0 conflicts with core 1.0, requested directly "
        "(lib-a Conflicts: core); required by front-b -> app"
    )


# -- broken relationship fields ----------------------------------------------


def test_a_broken_depends_is_a_format_error_naming_package_and_field(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    index = PackageIndex([record("app", depends="libfoo (>= 1, libbar"), record("libfoo")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError) as error:
            resolve(index, ["app"], arch="amd64")
    assert str(error.value) == (
        "package app 1.0 in bookworm: its Depends field 'libfoo (>= 1, libbar' is not valid: "
        "cannot parse 'libfoo (>= 1'"
    )
    assert capsys.readouterr() == ("", "")
    assert caplog.records == []


def test_a_broken_breaks_is_a_format_error_too() -> None:
    index = PackageIndex([record("app", breaks="old |")])
    with pytest.raises(FormatError, match=r"^package app 1.0 in bookworm: its Breaks field"):
        resolve(index, ["app"], arch="amd64")


@pytest.mark.mirror
def test_real_postfix_and_exim_conflict(amd64: PackageIndex) -> None:
    with pytest.raises(ResolveError) as error:
        resolve(amd64, ["postfix", "exim4-daemon-light"], arch="amd64")
    postfix = amd64.versions("postfix")[0].version
    exim = amd64.versions("exim4-daemon-light")[0].version
    assert str(error.value) == (
        f"cannot install exim4-daemon-light: exim4-daemon-light {exim} conflicts with "
        f"postfix {postfix}, requested directly (postfix Conflicts: mail-transport-agent, "
        "which exim4-daemon-light provides); requested directly"
    )
    assert "postfix" in names(amd64, "postfix")
    assert "exim4-daemon-light" in names(amd64, "exim4-daemon-light")
