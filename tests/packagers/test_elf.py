"""Reading ELF programs compiled in the test: architecture, loader, libraries, glibc."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from distill.errors import ConfigError
from distill.packagers.elf import read_elf, version_key

C_SQLITE = """
#include <sqlite3.h>
#include <stdio.h>
int main(void) { printf("%s\\n", sqlite3_libversion()); return 0; }
"""
C_HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
GO_HELLO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'


def gcc(work: Path, source: str, *flags: str, name: str = "program") -> Path:
    """Compile ``source`` with gcc and ``flags`` into ``work/name``."""
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{name}.c").write_text(source, encoding="utf-8")
    output = work / name
    result = subprocess.run(["gcc", "-O2", "-o", str(output), f"{name}.c", *flags], cwd=work,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return output


def with_glibc_version(program: Path, target: Path, *, version: str) -> Path:
    """A copy of ``program`` whose newest GLIBC_x.y version string reads ``version``."""
    data = program.read_bytes()
    newest = read_elf(program).glibc_required
    assert newest is not None and len(version) == len(newest)
    patched = data.replace(f"GLIBC_{newest}\0".encode(), f"GLIBC_{version}\0".encode())
    assert patched != data
    target.write_bytes(patched)
    target.chmod(0o755)
    return target


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory,
             require_tool: Callable[[str], Path]) -> dict[str, Path]:
    """C programs: dynamic, static, with sqlite, with RPATH and with RUNPATH."""
    require_tool("gcc")
    root = tmp_path_factory.mktemp("elf")
    return {
        "dynamic": gcc(root / "dynamic", C_HELLO),
        "static": gcc(root / "static", C_HELLO, "-static"),
        "sqlite": gcc(root / "sqlite", C_SQLITE, "-lsqlite3"),
        "runpath": gcc(root / "runpath", C_HELLO, "-Wl,-rpath,$ORIGIN/lib",
                       "-Wl,--enable-new-dtags"),
        "rpath": gcc(root / "rpath", C_HELLO, "-Wl,-rpath,/opt/a:/opt/b",
                     "-Wl,--disable-new-dtags"),
    }


def test_dynamic_program_names_its_loader_libc_and_glibc(programs: dict[str, Path]) -> None:
    info = read_elf(programs["dynamic"])
    assert (info.arch, info.machine) == ("amd64", "x86-64")
    assert info.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert info.needed == ("libc.so.6",)
    assert not info.is_static
    assert info.glibc_required is not None
    assert "2.2.5" in info.glibc_versions
    assert list(info.glibc_versions) == sorted(info.glibc_versions, key=version_key)


def test_static_program_needs_nothing(programs: dict[str, Path]) -> None:
    info = read_elf(programs["static"])
    assert info.is_static
    assert (info.interpreter, info.needed, info.glibc_versions) == (None, (), ())


def test_libraries_in_link_order(programs: dict[str, Path]) -> None:
    assert read_elf(programs["sqlite"]).needed == ("libsqlite3.so.0", "libc.so.6")


def test_runpath_and_rpath_are_told_apart(programs: dict[str, Path]) -> None:
    runpath = read_elf(programs["runpath"])
    assert (runpath.runpath, runpath.rpath) == (("$ORIGIN/lib",), ())
    rpath = read_elf(programs["rpath"])
    assert (rpath.rpath, rpath.runpath) == (("/opt/a", "/opt/b"), ())


def test_newest_glibc_version_is_compared_as_numbers(programs: dict[str, Path],
                                                     tmp_path: Path) -> None:
    newest = read_elf(programs["dynamic"]).glibc_required
    assert newest is not None
    patched = with_glibc_version(programs["dynamic"], tmp_path / "p",
                                 version="2." + "9" * (len(newest) - 2))
    assert read_elf(patched).glibc_required == "2." + "9" * (len(newest) - 2)
    assert version_key("2.10") > version_key("2.9")


@pytest.mark.tools("go")
def test_arm64_go_program_is_read_on_amd64(go_build: Callable[..., Path]) -> None:
    info = read_elf(go_build(GO_HELLO, arch="arm64"))
    assert (info.arch, info.machine) == ("arm64", "aarch64")
    assert info.is_static


@pytest.mark.parametrize("content", [b"#!/bin/sh\necho hi\n", b"", b"\x7fELF\x02\x01"])
def test_not_an_elf_program_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "script"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"script is not an ELF program"):
        read_elf(path)


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_missing_or_folder_names_the_path(tmp_path: Path, make: str) -> None:
    path = tmp_path / "prog"
    if make == "folder":
        path.mkdir()
    with pytest.raises(ConfigError, match="prog"):
        read_elf(path)

