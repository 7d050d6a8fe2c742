"""``distill outdated`` on small images made for the purpose: exit codes, JSON and errors.

Each image is ``scratch`` plus hand-written dpkg metadata, so the versions it
claims are chosen here against what the real indexes hold today.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import distill
from distill.debian.index import compare_versions
from distill.transports import host_architecture
from support.indexes import newest_anywhere, newest_by_suite

RELEASE = "bookworm"
ARCH = host_architecture()
RunCli = Callable[..., Any]
OS_RELEASE = f"PRETTY_NAME=\"Debian GNU/Linux 12 ({RELEASE})\"\nVERSION_CODENAME={RELEASE}\n"


def _image(folder: Path, files: dict[str, str]) -> str:
    """An ``oci:`` image of ``files`` (image path -> text) on scratch."""
    folder.mkdir(parents=True)
    entries = []
    for number, (dst, text) in enumerate(sorted(files.items())):
        (folder / f"f{number}").write_text(text, encoding="utf-8")
        entries.append({"src": f"f{number}", "dst": dst, "mode": "0644"})
    config = distill.config_from_dict({"name": "outdated-test", "base": "scratch",
                                       "archs": [ARCH], "files": entries}, base_dir=folder)
    ref = f"oci:{folder / 'layout'}:test"
    distill.write(distill.build(config), ref)
    return ref


def _status(name: str, version: str) -> str:
    return f"Package: {name}\nVersion: {version}\nArchitecture: {ARCH}\n"


def _image_with(tmp_path: Path, packages: dict[str, str]) -> str:
    files = {f"/var/lib/dpkg/status.d/{name}": _status(name, version)
             for name, version in packages.items()}
    return _image(tmp_path / "image", {"/etc/os-release": OS_RELEASE, **files})


@pytest.mark.mirror
def test_only_non_security_updates_exit_3_and_unknown_packages_are_listed(
    run_cli: RunCli, tmp_path: Path,
) -> None:
    suites = newest_by_suite(RELEASE, ARCH)
    current = suites[RELEASE].get("base-files")
    old = "12.4+deb12u1"
    if current is None or compare_versions(current, old) <= 0 or \
            "base-files" in suites.get(f"{RELEASE}-security", {}):
        pytest.fail(f"base-files in {RELEASE} is {current}: expected a point release newer than"
                    f" {old} and no security version; pick another package for this test")
    ref = _image_with(tmp_path, {"base-files": old, "distill-no-such-package": "1.0"})
    run = run_cli("outdated", ref, "--format", "json")
    assert run.code == 3, run.err
    assert json.loads(run.out) == {
        "packages": [{"name": "base-files", "installed": old,
                      "available": newest_anywhere(RELEASE, ARCH, "base-files"),
                      "security": False, "suite": RELEASE}],
        "unknown": ["distill-no-such-package"],
    }
    text = run_cli("outdated", ref)
    assert text.code == 3
    assert "not in any index" in text.out and "distill-no-such-package" in text.out


@pytest.mark.mirror
def test_current_packages_exit_0(run_cli: RunCli, tmp_path: Path) -> None:
    version = newest_anywhere(RELEASE, ARCH, "zlib1g")
    assert version is not None
    ref = _image_with(tmp_path, {"zlib1g": version})
    run = run_cli("outdated", ref)
    assert run.code == 0, run.err
    assert run.out.startswith("every package is current")
    assert run_cli("-q", "outdated", ref).out == ""


@pytest.mark.mirror
def test_a_security_update_exits_1(run_cli: RunCli, tmp_path: Path) -> None:
    security = newest_by_suite(RELEASE, ARCH).get(f"{RELEASE}-security", {})
    main = newest_by_suite(RELEASE, ARCH)[RELEASE]
    behind = sorted(n for n, v in security.items()
                    if n in main and compare_versions(v, main[n]) > 0)
    if not behind:
        pytest.fail(f"no package of {RELEASE} has a newer version in {RELEASE}-security today")
    name = "libssl3" if "libssl3" in behind else behind[0]
    run = run_cli("outdated", _image_with(tmp_path, {name: main[name]}), "--format", "json")
    assert run.code == 1, run.err
    (entry,) = json.loads(run.out)["packages"]
    assert (entry["name"], entry["security"]) == (name, True)


def test_an_image_without_dpkg_metadata_is_one_error_line(
    run_cli: RunCli, tmp_path: Path,
) -> None:
    ref = _image(tmp_path / "image", {"/hello.txt": "hello\n"})
    run = run_cli("outdated", ref)
    assert run.code == 1
    assert len(run.err_lines) == 1
    assert run.err_lines[0].startswith("error: ") and "no dpkg metadata" in run.err_lines[0]
    assert run.out == ""


def test_an_image_of_unknown_release_is_one_error_line(run_cli: RunCli, tmp_path: Path) -> None:
    ref = _image(tmp_path / "image", {"/var/lib/dpkg/status.d/a": _status("a", "1.0")})
    run = run_cli("outdated", ref)
    assert run.code == 1
    assert run.err_lines == [f"error: cannot tell the Debian release of {ref}: it has no"
                             " /etc/os-release with VERSION_CODENAME"]


@pytest.mark.parametrize("args", [(), ("oci:x", "--lock", "distill.lock"), ("oci:x", "-f", "y")])
def test_outdated_takes_exactly_one_subject(run_cli: RunCli, args: tuple[str, ...]) -> None:
    run = run_cli("outdated", *args)
    assert run.code == 2
    assert len(run.err_lines) == 1 and "give an image REF" in run.err_lines[0]


def test_a_missing_lock_is_one_error_line(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("outdated", "--lock", str(tmp_path / "distill.lock"))
    assert run.code == 1
    assert len(run.err_lines) == 1 and "run `distill lock`" in run.err_lines[0]


@pytest.mark.parametrize("args", [("--security-only",), ("libc6",)])
def test_upgrade_options_need_upgrade(run_cli: RunCli, args: tuple[str, ...]) -> None:
    run = run_cli("lock", *args)
    assert run.code == 2
    assert "go with --upgrade" in run.err_lines[0]


def test_upgrading_without_a_lock_is_one_error_line(run_cli: RunCli, tmp_path: Path) -> None:
    config = tmp_path / "distill.yaml"
    config.write_text("name: x\nbase: scratch\n", encoding="utf-8")
    run = run_cli("lock", "-f", str(config), "--upgrade")
    assert run.code == 1
    assert len(run.err_lines) == 1 and "run `distill lock`" in run.err_lines[0]
    assert not (tmp_path / "distill.lock").exists()


def test_an_image_of_another_distribution_is_one_error_line(
    run_cli: RunCli, tmp_path: Path,
) -> None:
    ref = _image(tmp_path / "image", {
        "/etc/os-release": "ID=ubuntu\nVERSION_CODENAME=noble\n",
        "/var/lib/dpkg/status.d/a": _status("a", "1.0")})
    run = run_cli("outdated", ref)
    assert run.code == 1
    assert run.err_lines == [f"error: {ref} is a ubuntu image: distill checks Debian packages"
                             " against Debian's indexes only"]
