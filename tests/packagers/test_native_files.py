"""ELF files that ``files:`` copies are checked against the release's glibc at build time."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.assembly.pipeline import sources_for
from distill.config import Config, parse_config
from distill.errors import ConfigError
from distill.fsutil import cache_root
from distill.packagers import PrepareContext, native_files, prepare
from support.native_apps import compile_shared, needing_glibc

SOURCE = "#include <dlfcn.h>\nvoid *f(void) { return dlopen(0, 1); }\n"


@pytest.fixture
def library(tmp_path: Path, require_tool: Callable[[str], Path]) -> Path:
    """A shared object that references GLIBC_2.34 (dlopen)."""
    require_tool("gcc")
    return compile_shared(tmp_path / "build", "libnew.so", SOURCE)


def _config(root: Path, **extra: Any) -> Config:
    return parse_config({"name": "t", "base": "cc", "files": [{"src": "app", "dst": "/app"}],
                         **extra}, source="test", base_dir=root)


def _prepare(config: Config) -> Config:
    return prepare(config, context=PrepareContext(archs=("amd64",),
                                                  sources=tuple(sources_for(config)),
                                                  cache=cache_root()))


@pytest.mark.mirror
def test_a_copied_library_needing_a_newer_glibc_is_refused(tmp_path: Path,
                                                           library: Path) -> None:
    (tmp_path / "app" / "lib").mkdir(parents=True)
    needing_glibc(library, tmp_path / "app" / "lib" / "libnew.so", "2.38")
    with pytest.raises(ConfigError) as raised:
        _prepare(_config(tmp_path))
    assert re.match(r"\S+/app/lib/libnew\.so needs glibc 2\.38 \(GLIBC_2\.38\) but bookworm has "
                    r"glibc 2\.36; trixie has glibc 2\.\d+ \(use --release trixie\)",
                    str(raised.value)), raised.value


def test_files_the_release_can_run_are_passed_without_reading_any_index(
        tmp_path: Path, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the package index was read")

    monkeypatch.setattr(native_files, "package_index", refuse)
    (tmp_path / "app").mkdir()
    shutil.copy(library, tmp_path / "app" / "libnew.so")
    (tmp_path / "app" / "notes.txt").write_text("not ELF\n")
    newer = needing_glibc(library, tmp_path / "libnewer.so", "2.38")
    assert _prepare(_config(tmp_path)).files == _config(tmp_path).files
    shutil.copy(newer, tmp_path / "app" / "libnewer.so")  # trixie has 2.41: no index either
    _prepare(_config(tmp_path, release="trixie"))


SQLITE_PROGRAM = ("#include <sqlite3.h>\n#include <stdio.h>\n"
                  "int main(void) { puts(sqlite3_libversion()); return 0; }\n")


@pytest.mark.mirror
def test_a_copied_program_gets_the_packages_of_its_libraries(
        tmp_path: Path, require_tool: Callable[[str], Path]) -> None:
    gcc = require_tool("gcc")
    (tmp_path / "app").mkdir()
    source = tmp_path / "main.c"
    source.write_text(SQLITE_PROGRAM)
    subprocess.run([str(gcc), "-o", str(tmp_path / "app" / "tool"), str(source), "-lsqlite3"],
                   check=True)
    on_static = _prepare(_config(tmp_path, base="static"))
    assert sorted(on_static.packages) == ["libc6", "libsqlite3-0"]
    on_cc = _prepare(_config(tmp_path))
    assert on_cc.packages == ["libsqlite3-0"]  # cc has libc6 already
