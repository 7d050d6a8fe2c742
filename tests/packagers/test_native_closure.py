"""Native libraries of Python wheels, Node addons and jars -> Debian packages, on the real mirror.

The ELF files are compiled here against stub libraries (tests/support/native_apps.py),
so what they link is known exactly: libyaml (in Debian, not in any base) and a
library the app bundles itself.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distill.assembly.pipeline import sources_for
from distill.config import Config, parse_config
from distill.errors import ConfigError
from distill.fsutil import cache_root
from distill.packagers import NativeNeed, PrepareContext, java, native_closure, node, python
from distill.packagers.elf import read_elf
from distill.packagers.native_closure import NativeFile, is_glibc_linked, report_lines
from distill.packagers.native_files import folder_native_files, jar_native_files
from support.native_apps import (
    USES_YAML,
    WHEEL_NAME,
    YAML_SONAME,
    YAML_STUB,
    compile_shared,
    native_wheel,
    needing_glibc,
    python_project,
    stub,
)

YAML_NEED = NativeNeed(package="libyaml-0-2", path=f"{WHEEL_NAME}/_native.so",
                       soname=YAML_SONAME)


def _prepare(step: Any, config: Config) -> tuple[Config, list[NativeNeed]]:
    context = PrepareContext(archs=tuple(config.archs), sources=tuple(sources_for(config)),
                             cache=cache_root())
    return step.prepare(config, context=context), context.notes


def _config(app: dict[str, Any], base: str, root: Path, **extra: Any) -> Config:
    return parse_config({"name": "t", "base": base, "app": app, **extra}, source="test",
                        base_dir=root)


@pytest.fixture(scope="module")
def gcc(require_tool: Callable[[str], Path]) -> None:
    require_tool("gcc")


@pytest.fixture
def wheel_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                gcc: None) -> Callable[..., str]:
    """Make the native wheel (optionally needing a newer glibc) the only one pip sees;
    returns the requirement that pins it."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))

    def make(glibc: str | None = None) -> str:
        return native_wheel(tmp_path, glibc=glibc)[1]

    return make


@pytest.fixture
def python_app(tmp_path: Path, wheel_index: Callable[..., str]) -> Callable[..., Config]:
    def make(glibc: str | None = None, **extra: Any) -> Config:
        project = python_project(tmp_path / "proj", requirements=[wheel_index(glibc)],
                                 main="import distillnative\nprint(distillnative.report())\n")
        return _config({"type": "python", "path": str(project), "script": "main.py"},
                       "python3", project, **extra)

    return make


@pytest.mark.mirror
def test_a_wheel_gets_the_packages_of_the_libraries_it_links_but_does_not_bundle(
        python_app: Callable[..., Config]) -> None:
    config, notes = _prepare(python.STEP, python_app())
    assert "libyaml-0-2" in config.packages
    assert notes == [YAML_NEED]
    assert report_lines(notes) == [f"added libyaml-0-2 for {WHEEL_NAME}/_native.so "
                                   f"({YAML_SONAME})"]


@pytest.mark.mirror
def test_a_package_the_user_listed_is_kept_and_not_reported(
        python_app: Callable[..., Config]) -> None:
    config, notes = _prepare(python.STEP, python_app(packages=["libyaml-0-2"]))
    assert config.packages == ["libyaml-0-2"] and notes == []


@pytest.mark.mirror
def test_a_wheel_built_for_a_newer_glibc_names_the_file_and_the_release_that_has_it(
        python_app: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError) as raised:
        _prepare(python.STEP, python_app(glibc="2.38"))
    message = str(raised.value)
    assert re.match(rf"{WHEEL_NAME}/_native\.so needs glibc 2\.38 \(GLIBC_2\.38\) but bookworm "
                    r"has glibc 2\.36; trixie has glibc 2\.\d+ \(use --release trixie\)",
                    message), message


def _addon_project(root: Path, *, links: list[Path]) -> Path:
    project = root / "nodeapp"
    (project / "build" / "Release").mkdir(parents=True)
    (project / "package.json").write_text(json.dumps({"name": "nodeapp", "version": "1.0.0",
                                                      "main": "index.js"}))
    (project / "package-lock.json").write_text(json.dumps(
        {"name": "nodeapp", "version": "1.0.0", "lockfileVersion": 3,
         "packages": {"": {"name": "nodeapp", "version": "1.0.0"}}}))
    (project / "index.js").write_text("console.log('hi')\n")
    addon = compile_shared(root / "addon", "yaml.node", USES_YAML, link=links)
    (project / "build" / "Release" / "yaml.node").write_bytes(addon.read_bytes())
    return project


@pytest.mark.mirror
def test_a_node_addon_gets_the_packages_of_the_libraries_it_links(tmp_path: Path,
                                                                  gcc: None) -> None:
    project = _addon_project(tmp_path, links=[stub(tmp_path, YAML_SONAME, YAML_STUB)])
    config, notes = _prepare(node.STEP, _config({"type": "node", "path": str(project)},
                                                "nodejs", project))
    assert config.packages == ["libyaml-0-2"]
    assert notes == [NativeNeed("libyaml-0-2", "build/Release/yaml.node", YAML_SONAME)]


def _jar_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: App\n\n")
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def jni_library(tmp_path: Path, gcc: None) -> Path:
    """A JNI-style library linking libyaml and the JVM's own libjava.so (a stub here)."""
    java_stub = stub(tmp_path, "libjava.so", "int JNU_ThrowNullPointerException;\n")
    return compile_shared(tmp_path / "jni", "libyamljni.so", USES_YAML,
                          link=[stub(tmp_path, YAML_SONAME, YAML_STUB), java_stub])


@pytest.mark.mirror
def test_a_jni_library_inside_a_dependency_jar_gets_its_packages(tmp_path: Path,
                                                                 jni_library: Path) -> None:
    (tmp_path / "app" / "lib").mkdir(parents=True)
    jar = _jar_with(tmp_path / "app" / "app.jar", {"App.class": b"\xca\xfe\xba\xbe"})
    _jar_with(tmp_path / "app" / "lib" / "yamljni.jar",
              {"native/linux-x86_64/libyamljni.so": jni_library.read_bytes()})
    config, notes = _prepare(java.STEP, _config({"type": "java", "jar": str(jar)}, "java",
                                                tmp_path))
    assert config.packages == ["libyaml-0-2"]
    assert notes == [NativeNeed("libyaml-0-2", "lib/yamljni.jar!/native/linux-x86_64/"
                                "libyamljni.so", YAML_SONAME)]


def test_jars_inside_a_fat_jar_are_read(tmp_path: Path, jni_library: Path) -> None:
    inner = _jar_with(tmp_path / "inner.jar", {"lib/libyamljni.so": jni_library.read_bytes(),
                                               "lib/readme.so.txt": b"not native"})
    fat = _jar_with(tmp_path / "fat.jar", {"BOOT-INF/lib/inner.jar": inner.read_bytes(),
                                           "BOOT-INF/classes/App.class": b"\xca\xfe"})
    files = jar_native_files(fat)
    assert [f.path for f in files] == ["fat.jar!/BOOT-INF/lib/inner.jar!/lib/libyamljni.so"]
    assert YAML_SONAME in files[0].info.needed


def test_a_folder_yields_only_elf_files_named_like_native_code(tmp_path: Path,
                                                               jni_library: Path) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "a.so.1").write_bytes(jni_library.read_bytes())
    (tmp_path / "tree" / "sub" / "fake.node").write_bytes(b"\x7fELF garbage")
    (tmp_path / "tree" / "sub" / "program").write_bytes(jni_library.read_bytes())
    (tmp_path / "tree" / "skipped").mkdir()
    (tmp_path / "tree" / "skipped" / "b.so").write_bytes(jni_library.read_bytes())
    found = folder_native_files(tmp_path / "tree", skip={"skipped"})
    assert [f.path for f in found] == ["sub/a.so.1"]


def test_files_for_another_libc_are_not_glibc_linked(jni_library: Path) -> None:
    info = read_elf(jni_library)
    assert is_glibc_linked(info)
    musl = NativeFile(path="x", info=info.__class__(
        path=info.path, arch=info.arch, machine=info.machine, interpreter=None,
        needed=("libc.musl-x86_64.so.1",), rpath=(), runpath=(), glibc_versions=()))
    assert not is_glibc_linked(musl.info)


@pytest.mark.mirror
def test_a_library_no_package_provides_names_the_file(tmp_path: Path, gcc: None) -> None:
    missing = stub(tmp_path, "libdistillnowhere.so.3", "int nowhere;\n")
    project = _addon_project(tmp_path, links=[missing])
    with pytest.raises(ConfigError, match=r"^build/Release/yaml\.node needs "
                                          r"libdistillnowhere\.so\.3, which no Debian package "
                                          r"of bookworm \(amd64\) provides"):
        _prepare(node.STEP, _config({"type": "node", "path": str(project)}, "nodejs", project))


def test_the_report_has_one_line_per_package_with_its_first_file() -> None:
    needs = [NativeNeed("libgl1", "a/x.so", "libGL.so.1"), NativeNeed("libglib2.0-0", "b.so",
                                                                     "libglib-2.0.so.0"),
             NativeNeed("libgl1", "c.so", "libGL.so.1"), NativeNeed("libglib2.0-0", "b.so",
                                                                  "libgthread-2.0.so.0"),
             NativeNeed("libgl1", "d.so", "libGL.so.1")]
    assert report_lines(needs) == [
        "added libgl1 for a/x.so (libGL.so.1) and 2 more files",
        "added libglib2.0-0 for b.so (libglib-2.0.so.0, libgthread-2.0.so.0)",
    ]


@pytest.mark.mirror
def test_a_node_addon_built_for_a_newer_glibc_is_a_build_error(tmp_path: Path,
                                                               gcc: None) -> None:
    project = _addon_project(tmp_path, links=[])
    addon = compile_shared(tmp_path / "new", "new.node",
                           "#include <dlfcn.h>\nvoid *f(void) { return dlopen(0, 1); }\n")
    needing_glibc(addon, project / "build" / "Release" / "new.node", "2.38")
    with pytest.raises(ConfigError, match=r"^build/Release/new\.node needs glibc 2\.38 "
                                          r"\(GLIBC_2\.38\) but bookworm has glibc 2\.36; "
                                          r"trixie has glibc"):
        _prepare(node.STEP, _config({"type": "node", "path": str(project)}, "nodejs", project))


@pytest.mark.mirror
def test_a_recent_answer_is_reused_without_reading_the_index_until_it_ages(
        python_app: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> None:
    config = python_app()
    first, notes = _prepare(python.STEP, config)
    reads: list[str] = []
    real = native_closure.package_index

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs["arch"])
        return real(*args, **kwargs)

    monkeypatch.setattr(native_closure, "package_index", counting)
    again, again_notes = _prepare(python.STEP, config)
    assert (again.packages, again_notes, reads) == (first.packages, notes, [])
    monkeypatch.setenv("DISTILL_INDEX_MAX_AGE", "0")
    checked, _ = _prepare(python.STEP, config)
    assert checked.packages == first.packages and reads == ["amd64"]
