"""The Java packager with jars compiled here by javac: the layers split as Jib
does, and the image's files run with a real java (the host's, on the unpacked
layers) from the entrypoint distill wrote."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from distill.config import Config, parse_config
from distill.errors import ConfigError
from distill.layers.store import LayerStore
from distill.packagers import AppLayer, LayerContext, PrepareContext
from distill.packagers.java import STEP, read_manifest

GREETER = """\
package dep;
public final class Greeter {
    public static String greet(String who) { return "hello " + who + " from a dependency"; }
}
"""
MAIN = """\
package app;
public final class Main {
    public static void main(String[] args) throws Exception {
        System.out.println(dep.Greeter.greet("java"));
        try (var in = Main.class.getResourceAsStream("/app.properties")) {
            System.out.println(in == null ? "no resource" : new String(in.readAllBytes()).trim());
        }
    }
}
"""


@dataclass(frozen=True)
class Jars:
    """Compiled classes and the tools that package them."""

    dep_jar: Path
    classes: Path
    """app/Main.class and app.properties, compiled against the dependency."""
    jar_tool: Path


def _run(command: list[str], *, cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300,
                            check=False)
    assert result.returncode == 0, f"{command} failed: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def jars(tmp_path_factory: pytest.TempPathFactory, require_tool: Callable[[str], Path]) -> Jars:
    """A dependency jar and the app's classes, compiled by javac once per module."""
    javac, jar = require_tool("javac"), require_tool("jar")
    root = tmp_path_factory.mktemp("java")
    (root / "dep-src" / "dep").mkdir(parents=True)
    (root / "dep-src" / "dep" / "Greeter.java").write_text(GREETER)
    _run([str(javac), "--release", "17", "-d", str(root / "dep-classes"),
          str(root / "dep-src" / "dep" / "Greeter.java")])
    dep_jar = root / "greeter-1.0.jar"
    _run([str(jar), "--create", "--file", str(dep_jar), "-C", str(root / "dep-classes"), "."])
    (root / "src" / "app").mkdir(parents=True)
    (root / "src" / "app" / "Main.java").write_text(MAIN)
    classes = root / "classes"
    _run([str(javac), "--release", "17", "-cp", str(dep_jar), "-d", str(classes),
          str(root / "src" / "app" / "Main.java")])
    (classes / "app.properties").write_text("greeting=from a resource\n")
    return Jars(dep_jar=dep_jar, classes=classes, jar_tool=jar)


def plain_jar(jars: Jars, folder: Path, *, class_path: str | None,
              main: str | None = "app.Main") -> Path:
    """app.jar in ``folder`` with the given manifest Class-Path and Main-Class."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.txt"
    lines = [f"Main-Class: {main}"] if main else []
    lines += [f"Class-Path: {class_path}"] if class_path else []
    manifest.write_text("".join(f"{line}\n" for line in lines))
    target = folder / "app.jar"
    _run([str(jars.jar_tool), "--create", "--file", str(target), "--manifest", str(manifest),
          "-C", str(jars.classes), "."])
    return target


def fat_jar(jars: Jars, target: Path) -> Path:
    """A Spring Boot style jar: BOOT-INF/classes, BOOT-INF/lib and a Start-Class."""
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF",
                         "Manifest-Version: 1.0\r\nMain-Class: org.example.Launcher\r\n"
                         "Start-Class: app.Main\r\n\r\n")
        archive.writestr("org/example/Launcher.class", b"not used when exploded")
        for path in sorted(jars.classes.rglob("*")):
            if path.is_file():
                name = path.relative_to(jars.classes).as_posix()
                archive.write(path, f"BOOT-INF/classes/{name}")
        archive.write(jars.dep_jar, f"BOOT-INF/lib/{jars.dep_jar.name}")
    return target


def _config(folder: Path, jar: Path, **fields: Any) -> Config:
    document = {"name": "java-app", "app": {"type": "java", "jar": str(jar)}, **fields}
    return parse_config(document, source="distill.yaml", base_dir=folder)


def _build(config: Config, store_root: Path) -> tuple[Config, list[AppLayer]]:
    prepared = STEP.prepare(config, context=PrepareContext(archs=("amd64",), sources=(),
                                                           cache=store_root))
    context = LayerContext(arch="amd64", release="bookworm", store=LayerStore(store_root),
                           epoch=0, cache=store_root)
    return prepared, STEP.layers(prepared, context=context)


def _names(layer: AppLayer) -> list[str]:
    with tarfile.open(layer.layer.path) as tar:
        return sorted(m.name for m in tar.getmembers() if m.isfile())


def _unpack(layers: list[AppLayer], root: Path) -> Path:
    for layer in layers:
        with tarfile.open(layer.layer.path) as tar:
            tar.extractall(root, filter="data")
    return root


def _run_entrypoint(config: Config, root: Path) -> str:
    """Run the image's entrypoint with the host's java, its /app paths moved under root."""
    assert config.entrypoint is not None
    java = shutil.which("java")
    assert java is not None
    command = [java] + [re.sub(r"(^|:)/app/", lambda m: f"{m.group(1)}{root}/app/", part)
                        for part in config.entrypoint[1:]]
    return _run(command)


EXPECTED = "hello java from a dependency\ngreeting=from a resource\n"


def test_plain_jar_with_class_path_runs_with_java_jar(jars: Jars, tmp_path: Path) -> None:
    project = tmp_path / "project"
    jar = plain_jar(jars, project, class_path="libs/greeter-1.0.jar")
    (project / "libs").mkdir()
    shutil.copy(jars.dep_jar, project / "libs")
    config, layers = _build(_config(project, jar), tmp_path / "store")
    assert config.entrypoint == ["/usr/bin/java", "-jar", "/app/app.jar"]
    assert [_names(layer) for layer in layers] == [["app/libs/greeter-1.0.jar"], ["app/app.jar"]]
    assert [layer.created_by for layer in layers] == [
        "distill java dependencies of app.jar", "distill java jar of app.jar"]
    assert [(r.ecosystem, r.file, r.digest) for r in layers[0].resolved] == [
        ("jar", "libs/greeter-1.0.jar",
         {"sha256": hashlib.sha256(jars.dep_jar.read_bytes()).hexdigest()})]
    assert layers[1].resolved == ()
    assert _run_entrypoint(config, _unpack(layers, tmp_path / "root")) == EXPECTED


def test_plain_jar_with_a_lib_folder_runs_with_java_cp(jars: Jars, tmp_path: Path) -> None:
    project = tmp_path / "project"
    jar = plain_jar(jars, project, class_path=None)
    (project / "lib").mkdir()
    shutil.copy(jars.dep_jar, project / "lib")
    config, layers = _build(_config(project, jar, app={"type": "java", "jar": str(jar),
                                                       "dst": "/app"}), tmp_path / "store")
    assert config.entrypoint == ["/usr/bin/java", "-cp", "/app/app.jar:/app/lib/*", "app.Main"]
    assert [_names(layer) for layer in layers] == [["app/lib/greeter-1.0.jar"], ["app/app.jar"]]
    assert _run_entrypoint(config, _unpack(layers, tmp_path / "root")) == EXPECTED


def test_fat_jar_is_exploded_into_dependencies_resources_and_classes(
    jars: Jars, tmp_path: Path
) -> None:
    jar = fat_jar(jars, tmp_path / "boot.jar")
    config, layers = _build(_config(tmp_path, jar), tmp_path / "store")
    assert config.entrypoint == ["/usr/bin/java", "-cp",
                                 "/app/resources:/app/classes:/app/libs/*", "app.Main"]
    assert [_names(layer) for layer in layers] == [
        ["app/libs/greeter-1.0.jar"], ["app/resources/app.properties"],
        ["app/classes/app/Main.class"]]
    assert [layer.created_by.split()[2] for layer in layers] == [
        "dependencies", "resources", "classes"]
    assert [r.name for r in layers[0].resolved] == ["libs/greeter-1.0.jar"]
    assert layers[0].resolved[0].digest == {
        "sha256": hashlib.sha256(jars.dep_jar.read_bytes()).hexdigest()}
    assert layers[1].resolved == layers[2].resolved == ()
    assert _run_entrypoint(config, _unpack(layers, tmp_path / "root")) == EXPECTED


def test_a_changed_jar_rebuilds_only_its_own_layer(jars: Jars, tmp_path: Path) -> None:
    project = tmp_path / "project"
    jar = plain_jar(jars, project, class_path=None)
    (project / "lib").mkdir()
    shutil.copy(jars.dep_jar, project / "lib")
    _, first = _build(_config(project, jar), tmp_path / "store")
    with zipfile.ZipFile(jar, "a") as archive:
        archive.writestr("extra.txt", "changed")
    _, second = _build(_config(project, jar), tmp_path / "store")
    assert first[0].layer == second[0].layer
    assert first[1].layer.digest != second[1].layer.digest


def test_an_explicit_entrypoint_is_kept(jars: Jars, tmp_path: Path) -> None:
    jar = plain_jar(jars, tmp_path / "p", class_path=None)
    config, _ = _build(_config(tmp_path, jar, entrypoint=["/usr/bin/java", "-Xmx64m", "-jar",
                                                          "/app/app.jar"]), tmp_path / "store")
    assert config.entrypoint == ["/usr/bin/java", "-Xmx64m", "-jar", "/app/app.jar"]


def test_manifest_continuation_lines_are_joined(tmp_path: Path) -> None:
    jar = tmp_path / "x.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF",
                         "Manifest-Version: 1.0\r\nClass-Path: lib/a.jar lib/b\r\n .jar\r\n"
                         "Main-Class: x.Y\r\n\r\nName: other\r\nMain-Class: no\r\n")
    assert read_manifest(jar) == {"Manifest-Version": "1.0", "Class-Path": "lib/a.jar lib/b.jar",
                                  "Main-Class": "x.Y"}


def test_errors_name_the_jar_and_what_is_wrong(jars: Jars, tmp_path: Path) -> None:
    store = tmp_path / "store"
    with pytest.raises(ConfigError, match=r"app\.jar: .*missing\.jar: no such file"):
        _build(_config(tmp_path, tmp_path / "missing.jar"), store)
    with pytest.raises(ConfigError, match="a java app needs the jar"):
        _build(parse_config({"name": "x", "app": {"type": "java"}}, source="d",
                            base_dir=tmp_path), store)
    no_main = plain_jar(jars, tmp_path / "nomain", class_path=None, main=None)
    with pytest.raises(ConfigError, match=r"app\.jar: .*app\.jar: the manifest has no Main-Class"):
        _build(_config(tmp_path, no_main), store)
    missing_dep = plain_jar(jars, tmp_path / "nodep", class_path="lib/gone.jar")
    with pytest.raises(ConfigError, match=r"Class-Path jar lib/gone\.jar not found"):
        _build(_config(tmp_path, missing_dep), store)
    escaping = plain_jar(jars, tmp_path / "escape", class_path="../outside.jar")
    with pytest.raises(ConfigError, match="must be a jar relative to it"):
        _build(_config(tmp_path, escaping), store)
    not_a_jar = tmp_path / "text.jar"
    not_a_jar.write_text("plain text")
    with pytest.raises(ConfigError, match="not a readable jar"):
        _build(_config(tmp_path, not_a_jar), store)
