"""Java apps: ``app: {type: java, jar: ./app.jar}`` on the java flavor, layered as Jib does.

A Spring Boot style fat jar (``BOOT-INF/``) is exploded into three layers that
change at different rates: dependencies (``BOOT-INF/lib``) under
``DST/libs``, resources under ``DST/resources`` and classes under
``DST/classes``; it runs with ``java -cp`` and the manifest's Start-Class. A
plain jar goes in a layer of its own at ``DST/NAME.jar`` above a layer of its
dependencies: the manifest's Class-Path jars, or else the jars of a ``lib/``
folder beside it, kept at the same path relative to the jar so that
``java -jar`` finds them.
"""

from __future__ import annotations

import hashlib
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from distill.config import App, Config
from distill.errors import ConfigError
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, PrepareContext, Resolved
from distill.packagers.native_closure import NativeFile, needs_for_app, with_packages
from distill.packagers.native_files import jar_native_files
from distill.rootfs.tree import FileTree

JAVA = "/usr/bin/java"
JVM_LIBRARIES = frozenset({"libjvm.so", "libjava.so", "libjawt.so", "libverify.so", "libnet.so",
                           "libnio.so", "libzip.so"})
"""The JRE's own libraries a JNI library may link: the JVM has loaded them (they live in
the JRE's folder, outside the loader's default folders the Contents index covers)."""
BOOT_CLASSES = "BOOT-INF/classes/"
BOOT_LIB = "BOOT-INF/lib/"


@dataclass(frozen=True)
class JarPlan:
    """How one jar is laid out in the image."""

    jar: Path
    dst: str
    main_class: str | None
    fat: bool
    dependencies: tuple[tuple[Path, str], ...] = ()
    """Plain jars: (host jar, path relative to the app jar's folder)."""
    uses_class_path: bool = False
    """Whether the manifest's Class-Path names the dependencies (``java -jar`` works)."""

    @property
    def jar_dst(self) -> str:
        """Where a plain jar goes in the image."""
        return posixpath.join(self.dst, self.jar.name)


def plan_jar(app: App) -> JarPlan:
    """Read the app's jar and decide its layers and command."""
    jar = _jar_path(app)
    manifest = read_manifest(jar)
    dst = app.dst.rstrip("/") or "/"
    if _is_fat(jar):
        return JarPlan(jar=jar, dst=dst, main_class=manifest.get("Start-Class"), fat=True)
    class_path = manifest.get("Class-Path", "").split()
    if class_path:
        deps = tuple((_class_path_jar(jar, entry), entry) for entry in class_path)
    else:
        lib = jar.parent / "lib"
        found = sorted(lib.glob("*.jar")) if lib.is_dir() else []
        deps = tuple((path, f"lib/{path.name}") for path in found)
    return JarPlan(jar=jar, dst=dst, main_class=manifest.get("Main-Class"), fat=False,
                   dependencies=deps, uses_class_path=bool(class_path))


def entrypoint(plan: JarPlan) -> list[str]:
    """The command that runs the jar."""
    if plan.fat:
        if plan.main_class is None:
            raise ConfigError(f"app.jar: {plan.jar}: the fat jar's manifest has no Start-Class")
        cp = ":".join(posixpath.join(plan.dst, p) for p in ("resources", "classes", "libs/*"))
        return [JAVA, "-cp", cp, plan.main_class]
    if plan.main_class is None:
        raise ConfigError(f"app.jar: {plan.jar}: the manifest has no Main-Class")
    if plan.uses_class_path or not plan.dependencies:
        return [JAVA, "-jar", plan.jar_dst]
    cp = ":".join([plan.jar_dst, posixpath.join(plan.dst, "lib", "*")])
    return [JAVA, "-cp", cp, plan.main_class]


def read_manifest(jar: Path) -> dict[str, str]:
    """The main section of the jar's META-INF/MANIFEST.MF (continuation lines joined)."""
    try:
        with zipfile.ZipFile(jar) as archive:
            try:
                text = archive.read("META-INF/MANIFEST.MF").decode("utf-8")
            except KeyError:
                return {}
    except (OSError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"app.jar: {jar}: not a readable jar ({exc})") from exc
    fields: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            break  # the main section ends at the first blank line
        if line.startswith(" ") and last:
            fields[last] += line[1:]
        elif ":" in line:
            last, _, value = line.partition(":")
            fields[last] = value.strip()
    return fields


class JavaStep:
    """The packager step of ``app: {type: java}``."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Add the packages of the jars' native libraries and fill in the entrypoint
        (``java -jar`` or ``java -cp ... Main``)."""
        plan = plan_jar(_app(config))
        files = native_files(plan)
        if files:
            needs = needs_for_app(files, config=config, context=context, provided=JVM_LIBRARIES)
            config = with_packages(config, needs)
        if config.entrypoint is not None:
            return config
        return config.model_copy(update={"entrypoint": entrypoint(plan)})

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """Dependencies, then resources and classes (fat jar) or the jar (plain)."""
        plan = plan_jar(_app(config))
        jar_sha = _sha256(plan.jar)
        parts: list[tuple[str, Callable[[], FileTree], list[str]]]
        if plan.fat:
            present = _fat_parts(plan.jar)
            parts = [(name, _fat_part(plan, name), [jar_sha])
                     for name in ("dependencies", "resources", "classes") if name in present]
        else:
            parts = [("jar", lambda: _jar_tree(plan), [jar_sha])]
            if plan.dependencies:
                parts.insert(0, ("dependencies", lambda: _dependency_tree(plan),
                                 [f"{rel}={_sha256(path)}" for path, rel in plan.dependencies]))
        layers = []
        for name, make_tree, inputs in parts:
            key = cache_key(kind=f"java-{name}", dst=plan.dst, jar=plan.jar.name, fat=plan.fat,
                            inputs=inputs, mtime=context.epoch)
            layer = context.store.build(key, make_tree, mtime=context.epoch)
            layers.append(AppLayer(layer=layer,
                                   created_by=f"distill java {name} of {plan.jar.name}",
                                   resolved=shipped_jars(plan) if name == "dependencies" else ()))
        return layers


def shipped_jars(plan: JarPlan) -> tuple[Resolved, ...]:
    """The dependency jars the app ships, by path relative to DST and SHA-256."""
    if plan.fat:
        with zipfile.ZipFile(plan.jar) as archive:
            found = [(target, hashlib.sha256(archive.read(info)).hexdigest())
                     for info in archive.infolist() if not info.is_dir()
                     and (target := _fat_target(info.filename, "dependencies")) is not None]
    else:
        found = [(relative, _sha256(path)) for path, relative in plan.dependencies]
    return tuple(Resolved(ecosystem="jar", name=relative, version="", file=relative,
                          digest={"sha256": digest}) for relative, digest in sorted(found))


def native_files(plan: JarPlan) -> list[NativeFile]:
    """The ELF files (JNI libraries) inside the app's jar and its dependencies' jars."""
    files = jar_native_files(plan.jar)
    for path, relative in plan.dependencies:
        files += jar_native_files(path, shown=relative)
    return files


def _app(config: Config) -> App:
    if config.app is None or config.app.type != "java":
        raise ConfigError("app: the java step needs app: {type: java, jar: ...}")
    return config.app


def _jar_path(app: App) -> Path:
    if app.jar is None:
        raise ConfigError("app.jar: a java app needs the jar to run (app: {type: java, jar: ...})")
    if not app.jar.is_file():
        raise ConfigError(f"app.jar: {app.jar}: no such file")
    return app.jar


def _is_fat(jar: Path) -> bool:
    with zipfile.ZipFile(jar) as archive:
        return any(name.startswith(BOOT_CLASSES) for name in archive.namelist())


def _class_path_jar(jar: Path, entry: str) -> Path:
    if entry.startswith("/") or ":" in entry or ".." in entry.split("/") or entry.endswith("/"):
        raise ConfigError(
            f"app.jar: {jar.name}: Class-Path entry {entry!r} must be a jar relative to it"
        )
    path = jar.parent / entry
    if not path.is_file():
        raise ConfigError(f"app.jar: {jar.name}: Class-Path jar {entry} not found at {path}")
    return path


def _dependency_tree(plan: JarPlan) -> FileTree:
    tree = FileTree()
    for path, relative in plan.dependencies:
        tree.add_file(posixpath.join(plan.dst, relative), path.read_bytes())
    return tree


def _jar_tree(plan: JarPlan) -> FileTree:
    tree = FileTree()
    tree.add_file(plan.jar_dst, plan.jar.read_bytes())
    return tree


def _fat_part(plan: JarPlan, part: str) -> Callable[[], FileTree]:
    def make_tree() -> FileTree:
        tree = FileTree()
        with zipfile.ZipFile(plan.jar) as archive:
            for info in archive.infolist():
                target = _fat_target(info.filename, part)
                if target is not None and not info.is_dir():
                    tree.add_file(posixpath.join(plan.dst, target), archive.read(info))
        return tree

    return make_tree


def _fat_parts(jar: Path) -> set[str]:
    with zipfile.ZipFile(jar) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    return {part for name in names for part in ("dependencies", "resources", "classes")
            if _fat_target(name, part) is not None}


def _fat_target(name: str, part: str) -> str | None:
    """Where ``name`` of a fat jar goes (relative to DST) if it belongs to ``part``."""
    if name.startswith(BOOT_LIB):
        return "libs/" + name[len(BOOT_LIB):] if part == "dependencies" else None
    if not name.startswith(BOOT_CLASSES):
        return None
    relative = name[len(BOOT_CLASSES):]
    kind = "classes" if relative.endswith(".class") else "resources"
    return f"{kind}/{relative}" if kind == part else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ConfigError(f"app: cannot read {path}: {exc.strerror}") from exc
    return digest.hexdigest()


STEP = JavaStep()
