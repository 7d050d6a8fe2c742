"""``distill outdated`` and ``distill lock --upgrade`` against the real mirror.

The image and the lock are made from the release's main suite alone (a
``repositories:`` entry without -updates and -security, taken from the host's
apt sources), so where bookworm-security has a newer version today, the image
is behind on a security update. The expected sets are computed from the same
indexes, not written down.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

import distill
from distill.cli.main import main
from distill.debian.lock import dump_lock, read_lock, write_lock
from distill.maintenance.image_packages import read_image_packages
from distill.transports import host_architecture, pick_image
from support.indexes import (
    main_suite_repository,
    newest_anywhere,
    newest_by_suite,
    repositories_with_security,
    security_newer,
)

pytestmark = pytest.mark.mirror

RELEASE = "bookworm"
SECURITY = f"{RELEASE}-security"
ARCH = host_architecture()
CHANGE = re.compile(r"^(\S+) (\S+) -> (\S+) \((\S+)\)$")


@dataclasses.dataclass(frozen=True)
class Project:
    """A distill.yaml (and, once locked, its distill.lock) in a folder of its own."""

    config: Path

    @property
    def lock(self) -> Path:
        return self.config.parent / "distill.lock"


@dataclasses.dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Outcome(code=code, out=captured.out, err=captured.err)


def _project(folder: Path, repositories: Sequence[dict[str, Any]]) -> Project:
    folder.mkdir(parents=True)
    config = {"name": "outdated-main-only", "release": RELEASE, "archs": [ARCH],
              "base": "base", "variant": "nonroot", "repositories": list(repositories)}
    path = folder / "distill.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return Project(path)


@pytest.fixture(scope="module")
def main_only(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The base image's project, from the main suite alone, locked."""
    project = _project(tmp_path_factory.mktemp("main-only") / "project",
                       [main_suite_repository(RELEASE)])
    distill.lock(distill.load_config(project.config), lock_path=project.lock)
    return project


@pytest.fixture(scope="module")
def main_only_image(main_only: Project) -> str:
    """``oci:`` reference of the image built from ``main_only``."""
    result = distill.build(distill.load_config(main_only.config), lock_path=main_only.lock,
                           locked=True)
    ref = f"oci:{main_only.config.parent / 'layout'}:main-only"
    distill.write(result, ref)
    return ref


def _installed(ref: str) -> dict[str, str]:
    image = pick_image(distill.read(ref), architecture=ARCH)
    return {p.name: p.version for p in read_image_packages(image).packages}


def _expect_some(names: set[str], what: str) -> set[str]:
    if not names:
        pytest.fail(f"no package of {what} has a newer version in {SECURITY} today, so this"
                    " test shows nothing: pick a package set with a pending security update")
    return names


def _locked_versions(path: Path) -> dict[str, str]:
    return {p.name: p.version for p in read_lock(path).packages[ARCH]}


def test_outdated_finds_the_security_updates_of_an_image_built_from_main_only(
    capsys: pytest.CaptureFixture[str], main_only_image: str,
) -> None:
    installed = _installed(main_only_image)
    expected = _expect_some(security_newer(RELEASE, ARCH, installed), "the base image")
    run = _run(capsys, "outdated", main_only_image, "--arch", ARCH, "--format", "json")
    assert run.code == 1, run.err
    document = json.loads(run.out)
    assert set(document) == {"packages", "unknown"}
    assert document["unknown"] == []
    for entry in document["packages"]:
        assert set(entry) == {"name", "installed", "available", "security", "suite"}
        assert entry["installed"] == installed[entry["name"]]
        assert entry["available"] == newest_anywhere(RELEASE, ARCH, entry["name"])
    assert {e["name"] for e in document["packages"] if e["security"]} == expected
    text = _run(capsys, "outdated", main_only_image, "--arch", ARCH)
    assert text.code == 1
    for name in expected:
        line = next(line for line in text.out.splitlines() if line.startswith(f"{name} "))
        assert line.endswith("security") and installed[name] in line


def test_the_html_report_marks_the_outdated_packages(
    capsys: pytest.CaptureFixture[str], main_only_image: str, tmp_path: Path,
) -> None:
    installed = _installed(main_only_image)
    expected = _expect_some(security_newer(RELEASE, ARCH, installed), "the base image")
    report = tmp_path / "report.html"
    run = _run(capsys, "inspect", main_only_image, "--arch", ARCH, "--html", str(report))
    assert (run.code, run.err) == (0, ""), run.err
    page = report.read_text(encoding="utf-8")
    data = json.loads(page.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert set(data["outdated"]) >= expected
    assert all(data["outdated"][name] == newest_anywhere(RELEASE, ARCH, name)
               for name in expected)


def test_outdated_of_a_lock_uses_the_host_sources_and_of_a_config_its_own(
    capsys: pytest.CaptureFixture[str], main_only: Project,
) -> None:
    locked = _locked_versions(main_only.lock)
    expected = _expect_some(security_newer(RELEASE, ARCH, locked), "the lock")
    by_lock = _run(capsys, "outdated", "--lock", str(main_only.lock), "--format", "json")
    assert by_lock.code == 1, by_lock.err
    assert {e["name"] for e in json.loads(by_lock.out)["packages"] if e["security"]} == expected
    # The configuration's own sources hold the main suite alone: nothing newer, and a warning
    # that security updates are out of its sight.
    by_config = _run(capsys, "outdated", "-f", str(main_only.config), "--format", "json")
    assert by_config.code == 0, by_config.err
    assert json.loads(by_config.out) == {"packages": [], "unknown": []}
    assert f"no {SECURITY} suite among the sources" in by_config.err
    both = _run(capsys, "outdated", "-f", str(main_only.config), "--lock", str(main_only.lock))
    assert both.code == 0
    assert "every package is current" in both.out


def _stale_lock(main_only: Project, folder: Path) -> Project:
    """A project that can install from -security, whose lock was written before the
    security updates: the main-only lock under this configuration's checksum."""
    project = _project(folder, repositories_with_security(RELEASE))
    checksum = distill.load_config(project.config).package_checksum()
    write_lock(project.lock, dataclasses.replace(read_lock(main_only.lock),
                                                 config_checksum=checksum))
    return project


def _changes(out: str) -> list[tuple[str, str, str, str]]:
    lines = [CHANGE.match(line) for line in out.splitlines()]
    return [(m[1], m[2], m[3], m[4]) for m in lines if m is not None]


def test_security_only_upgrade_takes_exactly_the_security_updates(
    capsys: pytest.CaptureFixture[str], main_only: Project, tmp_path: Path,
) -> None:
    project = _stale_lock(main_only, tmp_path / "project")
    before = read_lock(project.lock)
    old = {p.name: p for p in before.packages[ARCH]}
    expected = _expect_some(security_newer(RELEASE, ARCH, _locked_versions(project.lock)),
                            "the lock")
    run = _run(capsys, "lock", "-f", str(project.config), "--upgrade", "--security-only")
    assert run.code == 0, run.err
    changes = _changes(run.out)
    security = newest_by_suite(RELEASE, ARCH)[SECURITY]
    assert {name for name, *_ in changes} == expected
    assert all(new == security[name] and suite == SECURITY and prior == old[name].version
               for name, prior, new, suite in changes)
    after = read_lock(project.lock)
    assert after.config_checksum == before.config_checksum
    assert after.suite_dates[RELEASE] == before.suite_dates[RELEASE]
    assert SECURITY in after.suite_dates
    assert {p.name: p for p in after.packages[ARCH] if p.name not in expected} == {
        name: p for name, p in old.items() if name not in expected}
    again = _run(capsys, "lock", "-f", str(project.config), "--upgrade", "--security-only")
    assert again.code == 0 and "is current" in again.out
    assert dump_lock(read_lock(project.lock)) == dump_lock(after)


def test_the_upgraded_lock_builds_an_image_without_pending_security_updates(
    capsys: pytest.CaptureFixture[str], main_only: Project, tmp_path: Path,
) -> None:
    project = _stale_lock(main_only, tmp_path / "project")
    assert _run(capsys, "lock", "-f", str(project.config), "--upgrade",
                "--security-only").code == 0
    ref = f"oci:{tmp_path / 'layout'}:upgraded"
    built = _run(capsys, "-q", "build", "-f", str(project.config), "--locked", "-o", ref)
    assert built.code == 0, built.err
    run = _run(capsys, "outdated", ref, "--arch", ARCH, "--format", "json")
    assert run.code in (0, 3), run.out
    assert not [e for e in json.loads(run.out)["packages"] if e["security"]]


def test_upgrading_one_package_changes_only_its_entry(
    capsys: pytest.CaptureFixture[str], main_only: Project, tmp_path: Path,
) -> None:
    project = _stale_lock(main_only, tmp_path / "project")
    original = project.lock.read_bytes()
    locked = read_lock(project.lock)
    installed = {p.name: p.version for p in locked.packages[ARCH] if p.layer != "data"}
    candidates = sorted(_expect_some(security_newer(RELEASE, ARCH, installed), "the lock"))
    name = "libzstd1" if "libzstd1" in candidates else candidates[0]
    run = _run(capsys, "lock", "-f", str(project.config), "--upgrade", name)
    assert run.code == 0, run.err
    assert [change[0] for change in _changes(run.out)] == [name]
    new_bytes = project.lock.read_bytes()
    new = json.loads(new_bytes)
    old = json.loads(original)
    index = next(i for i, p in enumerate(old["packages"][ARCH]) if p["name"] == name)
    assert new["packages"][ARCH][index]["version"] == newest_anywhere(RELEASE, ARCH, name)
    # Put the old entry and dates back: what remains is the old file, byte for byte.
    new["packages"][ARCH][index] = old["packages"][ARCH][index]
    new["suites"] = old["suites"]
    text = json.dumps(new, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text.encode() == original
    assert new_bytes != original


def test_a_configuration_without_the_security_suite_cannot_upgrade_to_it(
    capsys: pytest.CaptureFixture[str], main_only: Project,
) -> None:
    before = main_only.lock.read_bytes()
    run = _run(capsys, "lock", "-f", str(main_only.config), "--upgrade", "--security-only")
    assert run.code == 0, run.err
    assert "is current: no security updates" in run.out
    assert f"no {SECURITY} suite among the sources" in run.err
    assert main_only.lock.read_bytes() == before
