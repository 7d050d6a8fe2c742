"""Wheel resolution by the real pip, for the image's Python and platform, never the host's.

Most tests point pip at a local folder of wheels (``PIP_FIND_LINKS`` with
``PIP_NO_INDEX``), so what pip may choose is known exactly; one asks PyPI.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from distill.errors import ResolveError
from distill.packagers.python_project import read_project
from distill.packagers.python_wheels import Target, resolve_wheels

BOOKWORM_AMD64 = Target(python="3.11", arch="amd64", release="bookworm")


def _wheel(folder: Path, name: str, version: str, tag: str, requires: tuple[str, ...] = ()) -> None:
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(folder / f"{name}-{version}-{tag}.whl", "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{dist_info}/METADATA", metadata)
        archive.writestr(f"{dist_info}/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
        archive.writestr(f"{dist_info}/RECORD", "")


def _sdist(folder: Path, name: str, version: str) -> None:
    with tarfile.open(folder / f"{name}-{version}.tar.gz", "w:gz") as archive:
        data = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    _wheel(folder, "purelib", "1.0", "py3-none-any")
    _wheel(folder, "fastlib", "1.0", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
           requires=("purelib",))
    _wheel(folder, "fastlib", "1.0", "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
           requires=("purelib",))
    _wheel(folder, "fastlib", "1.0", "cp312-cp312-manylinux_2_17_x86_64")
    _wheel(folder, "newglibc", "1.0", "cp311-cp311-manylinux_2_39_x86_64")
    _wheel(folder, "newglibc", "1.0", "cp313-cp313-manylinux_2_39_x86_64")
    _wheel(folder, "abi3lib", "1.0", "cp38-abi3-manylinux_2_28_x86_64")
    _wheel(folder, "pinned", "1.0", "py3-none-any")
    _wheel(folder, "pinned", "2.0", "py3-none-any")
    _sdist(folder, "onlysource", "1.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def _project(folder: Path, requirements: str, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(requirements)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


def _names(wheels: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(w.path.name for w in wheels)


def test_platform_tags_follow_the_release_glibc_and_arch() -> None:
    tags = BOOKWORM_AMD64.platform_tags()
    assert tags[0] == "manylinux_2_36_x86_64" and tags[-1] == "manylinux1_x86_64"
    assert "manylinux2014_x86_64" in tags and "manylinux_2_37_x86_64" not in tags
    arm = Target(python="3.13", arch="arm64", release="trixie").platform_tags()
    assert arm[0] == "manylinux_2_41_aarch64" and arm[-1] == "manylinux2014_aarch64"
    assert BOOKWORM_AMD64.abi == "cp311"


@pytest.mark.parametrize(("arch", "machine"), [("amd64", "x86_64"), ("arm64", "aarch64")])
def test_the_image_arch_and_python_decide_the_wheel(
        local_index: Path, tmp_path: Path, arch: str, machine: str) -> None:
    project = read_project(_project(tmp_path / "p", "fastlib\n"))
    wheels = resolve_wheels(project, Target(python="3.11", arch=arch, release="bookworm"),
                            cache=tmp_path / "cache")
    assert _names(wheels) == [
        f"fastlib-1.0-cp311-cp311-manylinux_2_17_{machine}.manylinux2014_{machine}.whl",
        "purelib-1.0-py3-none-any.whl"]
    assert all(w.path.is_relative_to(tmp_path / "cache" / "python" / "wheels") for w in wheels)
    assert all(w.path.parent.name == w.sha256 for w in wheels)


def test_abi3_wheels_are_accepted(local_index: Path, tmp_path: Path) -> None:
    project = read_project(_project(tmp_path / "p", "abi3lib\n"))
    assert _names(resolve_wheels(project, BOOKWORM_AMD64, cache=tmp_path / "c")) == [
        "abi3lib-1.0-cp38-abi3-manylinux_2_28_x86_64.whl"]


def test_a_wheel_for_a_newer_glibc_fits_trixie_but_not_bookworm(
        local_index: Path, tmp_path: Path) -> None:
    project = read_project(_project(tmp_path / "p", "newglibc\n"))
    trixie = Target(python="3.13", arch="amd64", release="trixie")
    assert _names(resolve_wheels(project, trixie, cache=tmp_path / "c")) == [
        "newglibc-1.0-cp313-cp313-manylinux_2_39_x86_64.whl"]
    with pytest.raises(ResolveError, match=r"no wheel of newglibc for Python 3.11 on "
                                           r"linux/amd64 \(glibc 2.36\)"):
        resolve_wheels(project, BOOKWORM_AMD64, cache=tmp_path / "c")


def test_a_dependency_with_only_a_source_archive_fails_naming_it(
        local_index: Path, tmp_path: Path) -> None:
    project = read_project(_project(tmp_path / "p", "purelib\nonlysource\n"))
    with pytest.raises(ResolveError, match=r"no wheel of onlysource for Python 3.11") as error:
        resolve_wheels(project, BOOKWORM_AMD64, cache=tmp_path / "c")
    assert "\n" not in str(error.value)


def test_a_lock_pins_the_version(local_index: Path, tmp_path: Path) -> None:
    lock = 'lock-version = "1.0"\n[[packages]]\nname = "pinned"\nversion = "1.0"\n'
    project = read_project(_project(tmp_path / "p", "pinned\n", {"pylock.toml": lock}))
    assert _names(resolve_wheels(project, BOOKWORM_AMD64, cache=tmp_path / "c")) == [
        "pinned-1.0-py3-none-any.whl"]
    unlocked = read_project(_project(tmp_path / "q", "pinned\n"))
    assert _names(resolve_wheels(unlocked, BOOKWORM_AMD64, cache=tmp_path / "c")) == [
        "pinned-2.0-py3-none-any.whl"]


def test_an_unchanged_dependency_list_does_not_run_pip_again(
        local_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = read_project(_project(tmp_path / "p", "fastlib\n"))
    first = resolve_wheels(project, BOOKWORM_AMD64, cache=tmp_path / "c")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))  # pip would now find nothing
    assert resolve_wheels(project, BOOKWORM_AMD64, cache=tmp_path / "c") == first
    (project.root / "requirements.txt").write_text("fastlib\n# changed\n")
    with pytest.raises(ResolveError, match="no wheel of fastlib"):
        resolve_wheels(project, BOOKWORM_AMD64, cache=tmp_path / "c")


def test_no_dependencies_no_pip(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    assert resolve_wheels(read_project(folder), BOOKWORM_AMD64, cache=tmp_path / "c") == []


def test_pypi_gives_pydantic_core_for_arm64_on_an_amd64_host(tmp_path: Path) -> None:
    project = read_project(_project(tmp_path / "p", "pydantic-core\n"))
    target = Target(python="3.13", arch="arm64", release="trixie")
    names = _names(resolve_wheels(project, target, cache=tmp_path / "c"))
    core = [n for n in names if n.startswith("pydantic_core-")]
    assert len(core) == 1 and "-cp313-cp313-" in core[0] and "aarch64" in core[0], names
