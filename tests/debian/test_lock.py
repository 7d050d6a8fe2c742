"""distill.lock: exact bytes, round trip, and every way it can be wrong."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from distill.debian.lock import Lock, LockedPackage, dump_lock, read_lock, write_lock
from distill.debian.records import PackageRecord
from distill.errors import LockError

CHECKSUM = "sha256:" + "ab" * 32


def package(name: str, arch: str = "amd64", suite: str = "bookworm") -> LockedPackage:
    return LockedPackage(
        name=name,
        version="1.0-1",
        architecture=arch,
        sha256="cd" * 32,
        size=1234,
        filename=f"pool/main/{name[0]}/{name}/{name}_1.0-1_{arch}.deb",
        suite=suite,
        component="main",
    )


def sample() -> Lock:
    return Lock(
        config_checksum=CHECKSUM,
        release="bookworm",
        packages={
            "amd64": (package("zlib1g"), package("base-files", suite="bookworm-security")),
            "arm64": (package("tzdata", arch="all"),),
        },
    )


def test_from_record_keeps_no_mirror_uri() -> None:
    record = PackageRecord(
        name="libc6",
        version="2.36-9+deb12u10",
        architecture="amd64",
        filename="pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb",
        size=2757936,
        sha256="ef" * 32,
        suite="bookworm-security",
        component="main",
        uri="http://mirror.invalid/debian-security",
        depends="libgcc-s1",
    )
    locked = LockedPackage.from_record(record, layer="base-nossl")
    assert locked.to_json() == {
        "name": "libc6",
        "version": "2.36-9+deb12u10",
        "architecture": "amd64",
        "sha256": "ef" * 32,
        "size": 2757936,
        "filename": "pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb",
        "suite": "bookworm-security",
        "component": "main",
        "layer": "base-nossl",
    }


def test_bytes_are_sorted_indented_and_end_with_a_newline() -> None:
    text = dump_lock(sample()).decode()
    assert text.endswith("}\n")
    assert text.startswith('{\n  "configChecksum": "sha256:abab')
    assert "mirror.invalid" not in text
    document = json.loads(text)
    assert list(document) == ["configChecksum", "lockVersion", "packages", "release"]
    assert document["lockVersion"] == 1
    assert [p["name"] for p in document["packages"]["amd64"]] == ["base-files", "zlib1g"]
    assert text == json.dumps(document, indent=2, sort_keys=True) + "\n"


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "distill.lock"
    write_lock(path, sample())
    again = read_lock(path)
    assert again.config_checksum == CHECKSUM
    assert again.release == "bookworm"
    assert [p.name for p in again.packages["amd64"]] == ["base-files", "zlib1g"]
    assert again.packages["arm64"] == (package("tzdata", arch="all"),)
    assert dump_lock(again) == path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["distill.lock"]


def test_suite_dates_are_written_in_utc_and_read_back(tmp_path: Path) -> None:
    berlin = timezone(timedelta(hours=2))
    dated = replace(sample(), suite_dates={
        "bookworm": datetime(2026, 7, 11, 12, 16, 37, tzinfo=berlin),
        "bookworm-security": datetime(2026, 7, 12, 1, 2, 3, tzinfo=UTC),
    })
    path = tmp_path / "distill.lock"
    write_lock(path, dated)

    document = json.loads(path.read_text())
    assert document["lockVersion"] == 1
    assert document["suites"] == {"bookworm": {"date": "2026-07-11T10:16:37Z"},
                                  "bookworm-security": {"date": "2026-07-12T01:02:03Z"}}
    again = read_lock(path)
    assert again.suite_dates == dated.suite_dates
    assert dump_lock(again) == path.read_bytes()


def test_an_old_lock_without_suite_dates_still_reads(tmp_path: Path) -> None:
    document = json.loads(dump_lock(sample()))
    assert "suites" not in document
    path = tmp_path / "distill.lock"
    path.write_text(json.dumps(document))

    old = read_lock(path)

    assert old.suite_dates == {}
    assert old.packages == read_lock(path).packages
    assert [p.name for p in old.packages["amd64"]] == ["base-files", "zlib1g"]


def test_missing_lock_names_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "distill.yaml"
    with pytest.raises(LockError) as error:
        read_lock(tmp_path / "distill.lock", config=config)
    assert str(error.value) == f"no distill.lock next to {config}; run `distill lock`"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"lockVersion": 1,', "is not valid JSON"),
        ("[]", "the lock file must be a JSON object"),
        (
            '{"lockVersion": 1, "configChecksum": "x", "release": "b", "packages": {},'
            ' "suites": []}',
            "suites must be an object",
        ),
        (
            '{"lockVersion": 1, "configChecksum": "x", "release": "b", "packages": {},'
            ' "suites": {"b": {"date": 5}}}',
            "suites.b.date must be a string",
        ),
        (
            '{"lockVersion": 1, "configChecksum": "x", "release": "b", "packages": {},'
            ' "suites": {"b": {"date": "Sat, 11 Jul 2026"}}}',
            "suites.b.date 'Sat, 11 Jul 2026' is not a time like 2026-07-11T10:16:37Z",
        ),
        ('{"lockVersion": 7}', "unsupported lockVersion 7"),
        (
            '{"lockVersion": 1, "configChecksum": "x", "release": "bookworm", "packages": []}',
            "packages must be an object",
        ),
        (
            '{"lockVersion": 1, "release": "bookworm", "packages": {}}',
            "configChecksum must be a string",
        ),
        (
            '{"lockVersion": 1, "configChecksum": "x", "release": "b", "packages": {"amd64": {}}}',
            "packages.amd64 must be a list",
        ),
    ],
)
def test_corrupt_lock_names_the_file_and_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "distill.lock"
    path.write_text(content)
    with pytest.raises(LockError) as error:
        read_lock(path)
    message = str(error.value)
    assert str(path) in message
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p.pop("sha256"), "packages.amd64[0].sha256 must be a string"),
        (lambda p: p.update(size="12"), "packages.amd64[0].size must be an integer"),
        (lambda p: p.update(size=True), "packages.amd64[0].size must be an integer"),
        (lambda p: p.update(uri="http://x"), "packages.amd64[0].uri is not a lock file key"),
    ],
)
def test_wrong_package_entry_is_named(tmp_path: Path, change: object, problem: str) -> None:
    document = json.loads(dump_lock(sample()))
    change(document["packages"]["amd64"][0])  # type: ignore[operator]
    path = tmp_path / "distill.lock"
    path.write_text(json.dumps(document))
    with pytest.raises(LockError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        read_lock(path)


def test_check_accepts_a_matching_configuration() -> None:
    sample().check(config_checksum=CHECKSUM, archs=["amd64", "arm64"], release="bookworm")
    sample().check(config_checksum=CHECKSUM, archs=["arm64"], release="bookworm")


def test_check_rejects_a_changed_configuration() -> None:
    with pytest.raises(LockError) as error:
        sample().check(config_checksum="sha256:" + "00" * 32, archs=["amd64"], release="bookworm")
    assert str(error.value) == (
        "distill.lock is out of date: the configuration changed since it was written; "
        "run `distill lock`"
    )


def test_check_names_a_missing_arch_and_a_changed_release() -> None:
    lock = Lock(config_checksum=CHECKSUM, release="bookworm", packages={"amd64": ()})
    with pytest.raises(LockError, match=r"has no packages for arm64; run `distill lock`$"):
        lock.check(config_checksum=CHECKSUM, archs=["amd64", "arm64"], release="bookworm")
    with pytest.raises(LockError, match=r"for release bookworm, the configuration asks for trixie"):
        lock.check(config_checksum=CHECKSUM, archs=["amd64"], release="trixie")
