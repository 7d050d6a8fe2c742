"""Python projects (``app: {type: python, path: .}``) on the python3 flavor.

Two layers per architecture, so a code change rebuilds one small layer:

1. the third-party wheels pip resolved for the image's Python and platform
   (keyed by the wheels' SHA-256), installed into
   ``/usr/local/lib/python3.X/dist-packages`` (see python_install for why there);
2. the project itself under ``app.dst`` (keyed by its files' content).

Both get unchecked-hash pycs compiled by the image's own interpreter (see
python_bytecode) unless ``python: {bytecode: sources}``; the sources stay, so
the app's tracebacks keep their lines.
The entrypoint is ``app.script`` (a console script, or a ``.py`` file of the
project), ``python3 -m app.module``, or the project's only console script.

The wheels are resolved in ``prepare``, before the Debian packages: the
libraries their ELF files link that neither the wheels nor python3 have
(``libGL.so.1`` for opencv-python) add their Debian packages (see
native_closure). The layers reuse that resolution.
"""

from __future__ import annotations

from pathlib import Path

from distill.config import App, Config
from distill.errors import ConfigError
from distill.flavors.catalog import PYTHON_VERSIONS
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, NativeNeed, PrepareContext, Resolved
from distill.packagers.native_closure import needs_for_app, with_packages
from distill.packagers.python_bytecode import Runtime, add_app_bytecode
from distill.packagers.python_install import PREFIX, install_wheel, site_dir
from distill.packagers.python_native import wheels_native_files
from distill.packagers.python_project import Project, read_project
from distill.packagers.python_source import project_layer, project_recipe
from distill.packagers.python_wheels import Target, Wheel, resolve_wheels
from distill.progress import Progress
from distill.rootfs.tree import FileTree

PYTHON = "/usr/bin/python3"


class PythonStep:
    """The packaging step of Python projects."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Check the base and fill in the entrypoint, working folder and environment."""
        app = _app(config)
        if config.base != "python3":
            raise ConfigError(f"app type python runs on base python3, not {config.base!r}")
        project = read_project(app.path)
        config = with_packages(config, _native_needs(project, config, context))
        update: dict[str, object] = {"env": {"PYTHONUNBUFFERED": "1", **config.env}}
        if config.entrypoint is None:
            update["entrypoint"] = entrypoint(project, script=app.script, module=app.module,
                                              dst=app.dst)
        if config.workdir is None:
            update["workdir"] = app.dst
        return config.model_copy(update=update)

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """The dependency layer (when there are dependencies) and the project layer."""
        app = _app(config)
        python = PYTHON_VERSIONS[context.release]
        project = read_project(app.path)
        wheels = _wheels(project, arch=context.arch, release=context.release,
                         cache=context.cache, progress=context.progress)
        runtime = Runtime(python=python, arch=context.arch, debs=context.base_debs,
                          bytecode=config.python.bytecode, cache=context.cache)
        layers = []
        if wheels:
            layers.append(_dependency_layer(wheels, runtime, context))
        layers.append(_project_layer(project, app.dst, runtime, context))
        return layers


def entrypoint(project: Project, *, script: str | None, module: str | None,
               dst: str) -> list[str]:
    """The command that runs the project (see the module docstring)."""
    if script is not None and module is not None:
        raise ConfigError("app: give script or module, not both")
    if module is not None:
        return [PYTHON, "-m", module]
    names = [name for name, _ in project.scripts]
    if script is not None:
        if script in names:
            return [f"{PREFIX}/bin/{script}"]
        if script.endswith(".py") and (project.root / script).is_file():
            return [PYTHON, f"{dst.rstrip('/')}/{script}"]
        raise ConfigError(f"app.script: {script!r} is neither a console script of "
                          f"{project.name} ({', '.join(names) or 'none'}) nor a .py file in "
                          f"{project.root}")
    if len(names) == 1:
        return [f"{PREFIX}/bin/{names[0]}"]
    raise ConfigError(f"app: {project.name} defines {len(names)} console scripts "
                      f"({', '.join(names) or 'none'}); set app.script or app.module")


def _wheels(project: Project, *, arch: str, release: str, cache: Path,
            progress: Progress) -> list[Wheel]:
    task = progress.task(f"resolving Python wheels ({arch})")
    try:
        return resolve_wheels(project, Target(python=PYTHON_VERSIONS[release], arch=arch,
                                              release=release), cache=cache)
    finally:
        task.finish()


def _native_needs(project: Project, config: Config, context: PrepareContext) -> list[NativeNeed]:
    """The Debian packages the wheels' ELF files need that python3 lacks (the wheels are
    resolved here, before the packages, and remembered for the layers)."""
    files = [file for arch in context.archs
             for file in wheels_native_files(
                 _wheels(project, arch=arch, release=config.release, cache=context.cache,
                         progress=context.progress), cache=context.cache)]
    return needs_for_app(files, config=config, context=context) if files else []


def _app(config: Config) -> App:
    if config.app is None or config.app.type != "python":
        raise ConfigError("the python packager needs app: {type: python, path: ...}")
    return config.app


def _dependency_layer(wheels: list[Wheel], runtime: Runtime, context: LayerContext) -> AppLayer:
    python = runtime.python
    site = site_dir(python)

    def make_tree() -> FileTree:
        tree = FileTree()
        for wheel in sorted(wheels, key=lambda w: w.path.name):
            install_wheel(tree, wheel.path, python=python)
        add_app_bytecode(tree, runtime=runtime, under=site)
        return tree

    key = cache_key(kind="python-deps", wheels=sorted(w.sha256 for w in wheels), python=python,
                    compiler=runtime.key(), mtime=context.epoch)
    layer = context.store.build(key, make_tree, mtime=context.epoch, progress=context.progress)
    names = ", ".join(w.path.name.split("-", 2)[0] + " " + w.path.name.split("-", 2)[1]
                      for w in sorted(wheels, key=lambda w: w.path.name.lower()))
    return AppLayer(layer=layer, created_by=f"distill python dependencies "
                                            f"({runtime.note()}): {names}",
                    resolved=tuple(resolved_wheel(w) for w in sorted(wheels,
                                                                     key=lambda w: w.path.name)))


def resolved_wheel(wheel: Wheel) -> Resolved:
    """What the provenance says of ``wheel``: name and version from its file name."""
    name, version = wheel.path.name.split("-", 2)[:2]
    return Resolved(ecosystem="pypi", name=name, version=version, file=wheel.path.name,
                    digest={"sha256": wheel.sha256})


def _project_layer(project: Project, dst: str, runtime: Runtime,
                   context: LayerContext) -> AppLayer:
    recipe = project_recipe(project, dst=dst, runtime=runtime, epoch=context.epoch)
    layer = project_layer(recipe, store=context.store, progress=context.progress)
    return AppLayer(layer=layer, created_by=f"distill python project {project.name} "
                                            f"{project.version} in {dst} "
                                            f"({runtime.note()})", recipe=recipe)


STEP = PythonStep()
