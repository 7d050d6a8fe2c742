"""The Go packager: go.mod reading, the go build it runs, its errors, prepare and layers.

Programs are compiled here with the host's real Go toolchain (std-lib only:
no module proxy is reachable); the cgo tests use the host's gcc and
libsqlite3-dev, and the cross tests gcc-aarch64-linux-gnu with libc6-dev-arm64-cross.
"""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.assembly.pipeline import sources_for
from distill.config import Config, json_schema, parse_config
from distill.errors import ConfigError, DistillError
from distill.fsutil import cache_root
from distill.layers.store import LayerStore
from distill.packagers import LayerContext, PrepareContext, steps_for
from distill.packagers.elf import read_elf
from distill.packagers.go import STEP, compiled_path, go_build, program_path
from distill.packagers.go_module import (
    GoModule,
    binary_name,
    find_module,
    image_name,
    last_element,
    read_module_path,
)
from distill.packagers.go_toolchain import (
    CompilerOutput,
    GoBuild,
    c_compiler,
    command,
    compile_program,
    environment,
    host_arch,
)
from support.go_modules import BROKEN, HELLO, SQLITE, hide_tools, write_module

PLAIN_CGO = """package main

// static int answer(void) { return 42; }
import "C"
import "fmt"

func main() { fmt.Println("cgo", C.answer()) }
"""
LIBRARY = "package lib\n\nfunc Answer() int { return 42 }\n"


def go_config(folder: Path, **app: Any) -> Config:
    """``app: {type: go, ...}`` with its path the module folder."""
    extra: dict[str, Any] = {key: app.pop(key) for key in ("base", "archs") if key in app}
    return parse_config({"name": "t", "app": {"type": "go", **app}, **extra}, source="test",
                        base_dir=folder)


def prepare(config: Config, *, archs: tuple[str, ...] = ("amd64",),
            cache: Path | None = None) -> Config:
    """Run the Go step's prepare (the mirror is asked only for a cgo program's libraries)."""
    sources = tuple(sources_for(config)) if config.app and config.app.cgo else ()
    context = PrepareContext(archs=archs, sources=sources, cache=cache or cache_root())
    return STEP.prepare(config, context=context)


def run_program(path: Path) -> str:
    """Run a compiled program and return what it printed."""
    return subprocess.run([str(path)], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def go_tool(require_tool: Callable[[str], Path]) -> Path:
    """The host's go (the test skips, or fails under make test, without it)."""
    return require_tool("go")


@pytest.fixture
def path_without(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``path_without(*tools)``: PATH becomes a folder of links to every tool on it but those."""

    def restrict(*hidden: str) -> None:
        hide_tools(tmp_path / "bin", monkeypatch, *hidden)

    return restrict


# --- go.mod and names -------------------------------------------------------


@pytest.mark.parametrize(("path", "name"), [
    ("example.com/server", "server"),
    ("example.com/foo/v2", "foo"),
    ("github.com/acme/tool/v10", "tool"),
    ("hello", "hello"),
    ("example.com/v2", "example.com"),  # as go build names it
])
def test_last_element_drops_a_major_version(path: str, name: str) -> None:
    assert last_element(path) == name


@pytest.mark.parametrize("directive", [
    "module example.com/foo/v2", 'module "example.com/foo/v2"',
    "module example.com/foo/v2 // the server",
])
def test_module_path_from_go_mod(tmp_path: Path, directive: str) -> None:
    (tmp_path / "go.mod").write_text(f"// comment\n{directive}\n\ngo 1.19\n", encoding="utf-8")
    assert read_module_path(tmp_path / "go.mod") == "example.com/foo/v2"


def test_go_mod_without_module_directive(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("go 1.19\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no module directive"):
        read_module_path(tmp_path / "go.mod")


def test_module_found_above_the_package_folder(tmp_path: Path) -> None:
    root = write_module(tmp_path / "m", {"cmd/server/main.go": HELLO}, module="example.com/m/v3")
    module = find_module(root / "cmd" / "server")
    assert module == GoModule(root=root.resolve(), path="example.com/m/v3")
    assert image_name(module) == "m"
    assert binary_name(module, folder=root, package="./cmd/server") == "server"
    assert binary_name(module, folder=root, package=".") == "m"
    assert binary_name(module, folder=root, package="example.com/m/v3/cmd/api") == "api"


def test_not_a_go_module(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not in a Go module \(no go.mod"):
        find_module(tmp_path)


def test_package_patterns_and_outside_paths_are_refused(tmp_path: Path) -> None:
    module = find_module(write_module(tmp_path / "m", {"main.go": HELLO}))
    with pytest.raises(ConfigError, match="is a pattern"):
        binary_name(module, folder=module.root, package="./...")
    with pytest.raises(ConfigError, match="outside the module"):
        binary_name(module, folder=module.root, package="../elsewhere")


def test_image_name_is_a_valid_reference_name() -> None:
    assert image_name(GoModule(root=Path("/"), path="example.com/My_Server")) == "my_server"


# --- the configuration ------------------------------------------------------


def test_app_go_defaults_and_schema(tmp_path: Path) -> None:
    config = go_config(tmp_path, package="./cmd/server", cgo=True, cc={"arm64": "my-gcc"},
                       ldflags="-X main.version=1.0", tags=["netgo"])
    assert config.base == "auto"
    assert config.app is not None
    assert (config.app.path, config.app.package, config.app.cgo) == (tmp_path, "./cmd/server",
                                                                     True)
    assert go_config(tmp_path).app == config.app.model_copy(update={
        "package": ".", "cgo": False, "cc": None, "ldflags": None, "tags": []})
    app_schema = json_schema()["$defs"]["App"]["properties"]
    assert {"package", "cgo", "cc", "ldflags", "tags", "vcs"} <= set(app_schema)
    assert "go" in app_schema["type"]["enum"]


# --- the go build command ---------------------------------------------------


def test_build_flags_make_the_program_independent_of_the_machine(tmp_path: Path) -> None:
    build = GoBuild(folder=tmp_path, package="./cmd/server", arch="arm64",
                    ldflags="-X main.version=1.0", tags=("netgo", "osusergo"))
    args = command(build, go="go", output=tmp_path / "out")
    assert args[:2] == ["go", "build"]
    assert "-trimpath" in args and "-buildvcs=false" in args
    assert "-ldflags=-s -w -buildid= -X main.version=1.0" in args
    assert "-tags=netgo,osusergo" in args
    assert args[-1] == "./cmd/server"
    with_vcs = command(GoBuild(folder=tmp_path, package=".", arch="amd64", vcs=True), go="go",
                       output=tmp_path / "out")
    assert not any(arg.startswith("-buildvcs") for arg in with_vcs)


def test_build_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GOTOOLCHAIN", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("GOFLAGS", "-mod=vendor")
    env = environment(GoBuild(folder=tmp_path, package=".", arch="arm64"), cc=None)
    assert (env["GOOS"], env["GOARCH"], env["CGO_ENABLED"]) == ("linux", "arm64", "0")
    assert (env["GOTOOLCHAIN"], env["SOURCE_DATE_EPOCH"]) == ("local", "0")
    assert env["GOFLAGS"] == "-mod=vendor"
    monkeypatch.setenv("GOTOOLCHAIN", "go1.22.0")
    cgo = environment(GoBuild(folder=tmp_path, package=".", arch="amd64", cgo=True), cc="gcc")
    assert (cgo["CGO_ENABLED"], cgo["CC"], cgo["GOTOOLCHAIN"]) == ("1", "gcc", "go1.22.0")


def test_version_info_through_ldflags(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"main.go": HELLO})
    output = tmp_path / "hello"
    compile_program(GoBuild(folder=folder, package=".", arch=host_arch(),
                            ldflags="-X main.version=1.2.3"), output=output)
    assert run_program(output) == "hello 1.2.3\n"
    info = read_elf(output)
    assert info.is_static and info.arch == host_arch()


def test_build_tags_choose_files(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {
        "main.go": HELLO,
        "special.go": '//go:build special\n\npackage main\n\nfunc init() { version = "tagged" }\n',
    })
    plain, tagged = tmp_path / "plain", tmp_path / "tagged"
    compile_program(GoBuild(folder=folder, package=".", arch=host_arch()), output=plain)
    compile_program(GoBuild(folder=folder, package=".", arch=host_arch(), tags=("special",)),
                    output=tagged)
    assert (run_program(plain), run_program(tagged)) == ("hello dev\n", "hello tagged\n")


def test_vendored_dependency_builds_offline(tmp_path: Path, go_tool: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.delenv("GOFLAGS", raising=False)
    folder = write_module(tmp_path / "m", {
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\n'
                   'func main() { fmt.Println(greet.Hello()) }\n',
        "vendor/example.com/greet/greet.go": 'package greet\n\nfunc Hello() string '
                                             '{ return "hello from vendor" }\n',
        "vendor/modules.txt": "# example.com/greet v1.0.0\n## explicit\nexample.com/greet\n",
    })
    with (folder / "go.mod").open("a", encoding="utf-8") as go_mod:
        go_mod.write("\nrequire example.com/greet v1.0.0\n")
    output = tmp_path / "out"
    compile_program(GoBuild(folder=folder, package=".", arch=host_arch()), output=output)
    assert run_program(output) == "hello from vendor\n"


def test_same_source_in_two_folders_gives_the_same_bytes(tmp_path: Path, go_tool: Path) -> None:
    outputs = []
    for where in ("one/deep/folder", "two"):
        folder = write_module(tmp_path / where, {"main.go": HELLO})
        outputs.append(tmp_path / f"{where.replace('/', '-')}.out")
        compile_program(GoBuild(folder=folder, package=".", arch="amd64"), output=outputs[-1])
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert b"/one/deep/folder" not in outputs[0].read_bytes()


def test_compile_error_is_one_line_with_the_output_as_cause(tmp_path: Path,
                                                           go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"main.go": BROKEN})
    output = tmp_path / "out" / "m"
    with pytest.raises(DistillError) as caught:
        compile_program(GoBuild(folder=folder, package=".", arch="amd64"), output=output)
    message = str(caught.value)
    assert message.startswith("go build failed: ./main.go:4:2: unused declared but not used")
    assert "\n" not in message and "more lines: --debug shows them" in message
    assert isinstance(caught.value.__cause__, CompilerOutput)
    assert "undefined: missing" in str(caught.value.__cause__)
    assert list(output.parent.iterdir()) == []


def test_missing_dependency_offline_is_one_line_with_go_hint(
        tmp_path: Path, go_tool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOPROXY", "off")
    folder = write_module(tmp_path / "m", {
        "main.go": 'package main\n\nimport "example.com/absent"\n\nfunc main() { absent.X() }\n',
    })
    with (folder / "go.mod").open("a", encoding="utf-8") as go_mod:
        go_mod.write("\nrequire example.com/absent v1.0.0\n")
    with pytest.raises(DistillError) as caught:
        compile_program(GoBuild(folder=folder, package=".", arch="amd64"), output=tmp_path / "o")
    assert str(caught.value) == (
        "go build failed: main.go:3:8: missing go.sum entry for module providing package "
        "example.com/absent (imported by example.com/hello); to add: go get example.com/hello")


def test_a_library_package_is_not_a_program(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"lib.go": LIBRARY})
    output = tmp_path / "out" / "m"
    with pytest.raises(ConfigError, match="is not a main package"):
        compile_program(GoBuild(folder=folder, package=".", arch="amd64"), output=output)
    assert not output.exists() and list(output.parent.iterdir()) == []


def test_go_not_installed(tmp_path: Path, path_without: Callable[..., None]) -> None:
    path_without("go")
    folder = write_module(tmp_path / "m", {"main.go": HELLO})
    with pytest.raises(ConfigError, match=r"go is not installed .*apt-get install golang-go$"):
        compile_program(GoBuild(folder=folder, package=".", arch="amd64"), output=tmp_path / "o")


def test_missing_cross_compiler_names_the_debian_package(
        path_without: Callable[..., None]) -> None:
    other = "arm64" if host_arch() == "amd64" else "amd64"
    triplet = {"arm64": "aarch64-linux-gnu", "amd64": "x86_64-linux-gnu"}[other]
    path_without(f"{triplet}-gcc")
    with pytest.raises(ConfigError) as caught:
        c_compiler(other, cc=None)
    assert str(caught.value) == (f"cgo for {other} needs {triplet}-gcc: "
                                 f"apt-get install gcc-{triplet}")


def test_compiler_without_its_c_library(tmp_path: Path,
                                        require_tool: Callable[[str], Path]) -> None:
    gcc = require_tool("gcc")
    wrapper = tmp_path / "bare-gcc"
    wrapper.write_text(f'#!/bin/sh\nexec {gcc} --sysroot={tmp_path / "empty"} "$@"\n',
                       encoding="utf-8")
    wrapper.chmod(0o755)
    with pytest.raises(ConfigError, match=r"needs the C library of .*apt-get install libc6-dev"):
        c_compiler(host_arch(), cc=str(wrapper))


@pytest.mark.tools("gcc", "aarch64-linux-gnu-gcc")
def test_cgo_cross_compiles_for_arm64(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"main.go": PLAIN_CGO})
    config = go_config(folder, cgo=True, archs=["arm64"])
    assert config.app is not None
    output = tmp_path / "arm64-program"
    compile_program(go_build(config.app, arch="arm64"), output=output)
    info = read_elf(output)
    assert info.arch == "arm64"
    assert info.interpreter == "/lib/ld-linux-aarch64.so.1"


# --- the step ---------------------------------------------------------------


def test_static_program_on_static_without_the_mirror(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"cmd/server/main.go": HELLO}, module="example.com/m")
    config = go_config(folder, package="./cmd/server")
    prepared = prepare(config, archs=("amd64", "arm64"), cache=tmp_path / "cache")
    assert prepared.base == "static"
    assert prepared.entrypoint == ["/app/server"]
    assert prepared.packages == []
    assert steps_for(prepared)[0] is STEP
    for arch in ("amd64", "arm64"):
        assert config.app is not None
        program = compiled_path(config.app, arch=arch, cache=tmp_path / "cache")
        assert read_elf(program).arch == arch


def test_scratch_base_is_kept(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"main.go": HELLO})
    prepared = prepare(go_config(folder, base="scratch"), cache=tmp_path / "cache")
    assert prepared.base == "scratch"
    assert prepared.entrypoint == ["/app/hello"]


@pytest.mark.mirror
@pytest.mark.tools("gcc")
def test_cgo_program_gets_the_base_and_packages_of_its_libraries(tmp_path: Path,
                                                                 go_tool: Path) -> None:
    if not Path("/usr/include/sqlite3.h").exists():
        pytest.fail("libsqlite3-dev is not installed; scripts/install-system-deps installs it")
    folder = write_module(tmp_path / "m", {"main.go": SQLITE}, module="example.com/sq")
    prepared = prepare(go_config(folder, cgo=True))
    assert prepared.base == "base-nossl"
    assert prepared.packages == ["libsqlite3-0"]
    assert prepared.entrypoint == ["/app/sq"]


def test_layer_holds_the_program_and_is_reused(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"main.go": HELLO})
    cache = tmp_path / "cache"
    config = prepare(go_config(folder), cache=cache)
    store = LayerStore(cache / "layers")
    context = LayerContext(arch="amd64", release="bookworm", store=store, epoch=0, cache=cache)
    first = STEP.layers(config, context=context)
    assert len(first) == 1
    assert first[0].created_by == "distill go . (amd64) /app/hello"
    assert program_path(config) == "/app/hello"
    members = _members(store, first[0].layer.digest)
    assert members["app/hello"].mode == 0o755
    assert members["app"].isdir()
    # a second build recompiles (Go decides what is stale) to the same bytes: the same layer
    prepare(config, cache=cache)
    assert STEP.layers(config, context=context)[0].layer == first[0].layer


def test_layers_compile_when_prepare_left_nothing(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"main.go": HELLO})
    cache = tmp_path / "cache"
    config = prepare(go_config(folder), cache=tmp_path / "other-cache")
    context = LayerContext(arch="arm64", release="bookworm", store=LayerStore(cache / "layers"),
                           epoch=0, cache=cache)
    layer = STEP.layers(config, context=context)[0]
    assert layer.created_by == "distill go . (arm64) /app/hello"
    assert config.app is not None
    assert read_elf(compiled_path(config.app, arch="arm64", cache=cache)).arch == "arm64"


def _members(store: LayerStore, digest: str) -> dict[str, tarfile.TarInfo]:
    blob = store.blob_path(digest)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob.read_bytes()))) as tar:
        return {member.name.rstrip("/"): member for member in tar.getmembers()}


def test_no_go_binary_is_left_when_the_build_fails(tmp_path: Path, go_tool: Path) -> None:
    folder = write_module(tmp_path / "m", {"main.go": HELLO})
    cache = tmp_path / "cache"
    config = prepare(go_config(folder), cache=cache)
    assert config.app is not None
    program = compiled_path(config.app, arch="amd64", cache=cache)
    before = program.read_bytes()
    (folder / "main.go").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(DistillError, match="go build failed"):
        prepare(go_config(folder), cache=cache)
    assert program.read_bytes() == before
    assert sorted(p.name for p in program.parent.iterdir()) == [program.name]
    shutil.rmtree(folder)
