"""Go programs from source: ``app: {type: go, package: ./cmd/server}``.

``prepare`` compiles the main package for every architecture of the image
with the host's Go toolchain (see go_toolchain for the flags that make the
program reproducible), into ``<cache>/go/<key>/<arch>/<name>``, where the key
names the module folder and the build settings. ``go build`` always runs: Go's
own build cache decides what is stale, and the layer store skips a program
whose bytes did not change. Without cgo the program is static and goes on
``static`` (``base: auto``) or whatever ``base:`` says; with cgo it is an ELF
program like any other, and the ELF packager's functions find the Debian
packages of its libraries and the smallest base that has them. The
entrypoint is the program alone, ``<dst>/<name>``.

``layers`` puts the program prepare compiled for the architecture at
``<dst>/<name>``, mode 0755 (compiling it first if it is not there). Builds
of the same folder at the same time share that place; each compile replaces
the program whole (a rename), never half-written.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import Path

from distill.config import App, Config
from distill.errors import ConfigError
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, PrepareContext
from distill.packagers.binary import base_and_packages, library_packages
from distill.packagers.elf import read_elf
from distill.packagers.go_module import binary_name, find_module
from distill.packagers.go_toolchain import GoBuild, compile_program, host_arch
from distill.progress import Progress
from distill.rootfs.tree import FileTree


def program_path(config: Config) -> str:
    """Where the program goes in the image: ``<dst>/<name>``."""
    app = _app(config)
    return posixpath.join(app.dst, _name(app))


def go_build(app: App, *, arch: str) -> GoBuild:
    """The ``go build`` of ``app`` for ``arch``."""
    return GoBuild(folder=app.path, package=app.package, arch=arch, cgo=app.cgo,
                   cc=_cc_for(app, arch), ldflags=app.ldflags, tags=tuple(app.tags),
                   vcs=app.vcs)


def compiled_path(app: App, *, arch: str, cache: Path) -> Path:
    """Where the program for ``arch`` is compiled: one place per module folder and settings."""
    settings = app.model_dump(mode="json", include={"package", "cgo", "cc", "ldflags", "tags",
                                                    "vcs"})
    settings["folder"] = str(app.path.absolute())
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]
    return cache / "go" / key / arch / _name(app)


class GoStep:
    """The packaging step of Go programs (see the module docstring)."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Compile for every architecture; fill in base, packages and entrypoint."""
        app = _app(config)
        programs = [_compile(app, arch=arch, cache=context.cache, progress=context.progress)
                    for arch in context.archs]
        packages: list[str] = []
        if programs:
            packages = library_packages(read_elf(programs[0]), config, context=context)
        update = base_and_packages(config, packages)
        if config.entrypoint is None:
            update["entrypoint"] = [program_path(config)]
        return config.model_copy(update=update)

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """One layer: the program at ``<dst>/<name>``, mode 0755."""
        app = _app(config)
        program = compiled_path(app, arch=context.arch, cache=context.cache)
        if not program.is_file():
            _compile(app, arch=context.arch, cache=context.cache, progress=context.progress)
        data = program.read_bytes()
        target = program_path(config)

        def make_tree() -> FileTree:
            tree = FileTree()
            tree.add_dir(app.dst, mode=0o755)
            tree.add_file(target, data, mode=0o755)
            return tree

        key = cache_key(kind="go", sha256=hashlib.sha256(data).hexdigest(), path=target,
                        dst=app.dst, mtime=context.epoch)
        layer = context.store.build(key, make_tree, mtime=context.epoch)
        cgo = ", cgo" if app.cgo else ""
        return [AppLayer(layer=layer,
                         created_by=f"distill go {app.package} ({context.arch}{cgo}) {target}")]


STEP = GoStep()
"""The step distill.packagers loads for ``app: {type: go}``."""


def _app(config: Config) -> App:
    if config.app is None or config.app.type != "go":
        raise ConfigError("the go packager needs app: {type: go, package: ...}")
    return config.app


def _name(app: App) -> str:
    return binary_name(find_module(app.path), folder=app.path, package=app.package)


def _cc_for(app: App, arch: str) -> str | None:
    """The C compiler ``app.cc`` names for ``arch`` (a plain name is for non-host archs)."""
    if isinstance(app.cc, dict):
        return next((cc for name, cc in app.cc.items() if name == arch), None)
    if app.cc is not None and arch != host_arch():
        return app.cc
    return None


def _compile(app: App, *, arch: str, cache: Path, progress: Progress) -> Path:
    output = compiled_path(app, arch=arch, cache=cache)
    task = progress.task(f"go build {app.package} ({arch}{', cgo' if app.cgo else ''})")
    compile_program(go_build(app, arch=arch), output=output)
    task.finish()
    return output
