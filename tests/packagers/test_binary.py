"""The ELF packager against the real mirror: base choice, packages, errors, its layer."""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.assembly.pipeline import sources_for
from distill.config import Config, parse_config
from distill.debian.index import PackageIndex
from distill.debian.repository import load_packages
from distill.errors import ConfigError
from distill.fsutil import cache_root
from distill.layers.store import LayerStore
from distill.packagers import LayerContext, PrepareContext, native_closure
from distill.packagers.binary import STEP, choose_base
from distill.packagers.elf import read_elf
from distill.packagers.native_closure import glibc_version

C_HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
C_SQLITE = ('#include <sqlite3.h>\n#include <stdio.h>\n'
            'int main(void) { puts(sqlite3_libversion()); return 0; }\n')
CPP = ('#include <iostream>\n#include <stdexcept>\nint main() { try { throw '
       'std::runtime_error("x"); } catch (const std::exception& e) { std::cout << e.what(); } }\n')
GO_HELLO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'
LIB = "int distill_answer(void) { return 42; }\n"
USES_LIB = 'int distill_answer(void);\nint main(void) { return distill_answer() - 42; }\n'


def compile_with(compiler: str, work: Path, source: str, *flags: str) -> Path:
    """Compile ``source`` in ``work`` with ``compiler`` and return the program."""
    work.mkdir(parents=True, exist_ok=True)
    suffix = ".cc" if compiler == "g++" else ".c"
    (work / f"main{suffix}").write_text(source, encoding="utf-8")
    result = subprocess.run([compiler, "-O2", "-o", "program", f"main{suffix}", *flags],
                            cwd=work, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return work / "program"


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory,
             require_tool: Callable[[str], Path]) -> dict[str, Path]:
    """C and C++ programs compiled once: plain, sqlite, C++, and one with a private library."""
    for tool in ("gcc", "g++"):
        require_tool(tool)
    root = tmp_path_factory.mktemp("binaries")
    private = root / "private"
    private.mkdir()
    (private / "lib.c").write_text(LIB, encoding="utf-8")
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libdistilltest.so.1", "-o",
                    "libdistilltest.so", "lib.c"], cwd=private, check=True)
    return {
        "c": compile_with("gcc", root / "c", C_HELLO),
        "sqlite": compile_with("gcc", root / "sqlite", C_SQLITE, "-lsqlite3"),
        "cpp": compile_with("g++", root / "cpp", CPP),
        "private": compile_with("gcc", root / "uses", USES_LIB, f"-L{private}",
                                "-ldistilltest"),
    }


def config_for(program: Path, **extra: Any) -> Config:
    """A distill.yaml with ``app: {type: binary, path: program}``."""
    return parse_config({"name": "t", "app": {"type": "binary", "path": str(program)}, **extra},
                        source="test", base_dir=program.parent)


def prepare(config: Config, *, archs: tuple[str, ...] = ("amd64",)) -> Config:
    """Run the ELF step's prepare against the host's mirror."""
    context = PrepareContext(archs=archs, sources=tuple(sources_for(config)),
                             cache=cache_root())
    return STEP.prepare(config, context=context)


@pytest.fixture(scope="module")
def bookworm_glibc(host_mirror: str) -> str:
    """The glibc version of bookworm's libc6, from the index."""
    config = config_for(Path("/bin/true"))
    records = load_packages(sources_for(config), arch="amd64", cache=cache_root() / "debian")
    version = glibc_version(PackageIndex(records, arch="amd64"))
    assert version is not None
    return version


@pytest.mark.parametrize(("packages", "release", "base"), [
    ([], "bookworm", "static"),
    (["libc6"], "bookworm", "base-nossl"),
    (["libc6", "libsqlite3-0"], "bookworm", "base-nossl"),
    (["libc6", "zlib1g"], "bookworm", "base"),
    (["libc6", "libssl3t64"], "trixie", "base"),
    (["libc6", "libssl3", "libstdc++6"], "bookworm", "cc"),
    (["libgcc-s1"], "trixie", "cc"),
])
def test_the_smallest_base_that_has_the_libraries(packages: list[str], release: str,
                                                  base: str) -> None:
    assert choose_base(packages, release=release) == base


@pytest.mark.mirror
@pytest.mark.parametrize(("name", "base", "packages"), [
    ("c", "base-nossl", []),
    ("sqlite", "base-nossl", ["libsqlite3-0"]),
    ("cpp", "cc", []),
])
def test_dynamic_programs_get_their_base_and_packages(
    programs: dict[str, Path], name: str, base: str, packages: list[str],
) -> None:
    prepared = prepare(config_for(programs[name]))
    assert (prepared.base, prepared.packages) == (base, packages)
    assert prepared.entrypoint == ["/app/program"]


@pytest.mark.mirror
@pytest.mark.tools("go")
def test_a_static_go_program_goes_on_static(go_build: Callable[..., Path]) -> None:
    prepared = prepare(config_for(go_build(GO_HELLO)))
    assert (prepared.base, prepared.packages) == ("static", [])


@pytest.mark.mirror
def test_a_chosen_base_is_kept_and_user_settings_win(programs: dict[str, Path]) -> None:
    config = config_for(programs["sqlite"], base="cc", packages=["tzdata"],
                        entrypoint=["/app/program", "--flag"],
                        app={"type": "binary", "path": str(programs["sqlite"]), "dst": "/opt"})
    prepared = prepare(config)
    assert prepared.base == "cc"
    assert prepared.packages == ["tzdata", "libsqlite3-0"]
    assert prepared.entrypoint == ["/app/program", "--flag"]


@pytest.mark.mirror
def test_libc_is_an_extra_package_on_a_base_without_it(programs: dict[str, Path]) -> None:
    prepared = prepare(config_for(programs["c"], base="static"))
    assert (prepared.base, prepared.packages) == ("static", ["libc6"])


@pytest.mark.mirror
def test_a_program_that_needs_only_glibc_never_reads_the_contents_index(
    programs: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Contents index was read")

    monkeypatch.setattr(native_closure, "load_contents", refuse)
    prepared = prepare(config_for(programs["c"], base="auto"))
    assert (prepared.base, prepared.packages) == ("base-nossl", [])


@pytest.mark.tools("go")
def test_a_wrong_architecture_names_both(go_build: Callable[..., Path]) -> None:
    program = go_build(GO_HELLO, arch="arm64")
    expected = (f"{program} is an arm64 (aarch64) binary but the image is amd64;"
                " build it for amd64 or use --arch arm64")
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}$"):
        prepare(config_for(program))


@pytest.mark.mirror
def test_a_library_no_package_provides_is_named(programs: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=r"needs libdistilltest\.so\.1, which no Debian "
                                          r"package of bookworm \(amd64\) provides"):
        prepare(config_for(programs["private"]))


def _needing_glibc(program: Path, target: Path, version: str) -> Path:
    newest = read_elf(program).glibc_required
    assert newest is not None and len(newest) == len(version)
    target.write_bytes(program.read_bytes().replace(f"GLIBC_{newest}\0".encode(),
                                                    f"GLIBC_{version}\0".encode()))
    return target


@pytest.mark.mirror
def test_a_newer_glibc_names_the_release_that_has_it(
    programs: dict[str, Path], tmp_path: Path, bookworm_glibc: str,
) -> None:
    program = _needing_glibc(programs["c"], tmp_path / "newer", "2.38")
    with pytest.raises(ConfigError) as raised:
        prepare(config_for(program))
    message = str(raised.value)
    assert message.startswith(f"{program} needs glibc 2.38 (GLIBC_2.38) but bookworm has"
                              f" glibc {bookworm_glibc}; trixie has glibc 2.")
    assert "(use --release trixie)" in message and "\n" not in message
    assert prepare(config_for(program, release="trixie")).base == "base-nossl"


@pytest.mark.mirror
def test_a_glibc_no_release_has_is_refused(programs: dict[str, Path], tmp_path: Path,
                                           bookworm_glibc: str) -> None:
    program = _needing_glibc(programs["c"], tmp_path / "future", "2.99")
    with pytest.raises(ConfigError, match=rf"needs glibc 2\.99 \(GLIBC_2\.99\) but bookworm has"
                                          rf" glibc {re.escape(bookworm_glibc)}; build it"):
        prepare(config_for(program))


def _layer_members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(path.read_bytes()))) as tar:
        return {member.name: member for member in tar.getmembers()}


def test_the_layer_holds_the_program_at_dst(programs: dict[str, Path], tmp_path: Path) -> None:
    config = config_for(programs["c"], app={"type": "binary", "path": str(programs["c"]),
                                            "dst": "/opt/tool"})
    store = LayerStore(tmp_path / "layers")
    context = LayerContext(arch="amd64", release="bookworm", store=store, epoch=1234,
                           cache=tmp_path)
    [first] = STEP.layers(config, context=context)
    blobs = sorted((tmp_path / "layers" / "blobs").rglob("*"))
    [again] = STEP.layers(config, context=context)

    assert again == first
    assert sorted((tmp_path / "layers" / "blobs").rglob("*")) == blobs
    members = _layer_members(first.layer.path)
    program = members["opt/tool/program"]
    assert (program.mode, program.mtime, program.uid) == (0o755, 1234, 0)
    assert program.size == programs["c"].stat().st_size
    assert members["opt/tool"].isdir()
    assert first.created_by == "distill binary /opt/tool/program"
