"""Packagers: steps that turn an application (or an HTTP health check) into layers.

A step has two parts. ``prepare`` runs once before packages are resolved and
returns the configuration with what the application implies filled in (the
base for ``base: auto``, Debian packages for its libraries, entrypoint,
environment, a health-check command). ``layers`` runs per architecture and
returns the step's layers, which go between the Debian packages and the
user's ``files:``. Steps are chosen from the configuration by :func:`steps_for`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from distill.errors import ConfigError
from distill.progress import SILENT, Progress

if TYPE_CHECKING:
    # Types only: a warm rebuild of a Python project's layer (packagers.python_source)
    # must not import the configuration model (pydantic) or the Debian sources.
    from distill.config import Config
    from distill.debian.sources import Source
    from distill.layers.store import LayerStore
    from distill.oci.model import Layer
    from distill.packagers.python_source import ProjectRecipe


@dataclass(frozen=True)
class NativeNeed:
    """A library an app's file links and the Debian package that provides it."""

    package: str
    path: str
    """The file that links it, as :attr:`NativeFile.path`."""
    soname: str


@dataclass(frozen=True)
class PrepareContext:
    """What a step may use while preparing the configuration."""

    archs: tuple[str, ...]
    sources: tuple[Source, ...]
    cache: Path
    """distill's cache root (``fsutil.cache_root()``)."""
    progress: Progress = SILENT
    notes: list[NativeNeed] = field(default_factory=list)
    """Where steps record the packages they add and why, for the build's report
    (``prepare`` returns only the configuration)."""


@dataclass(frozen=True)
class LayerContext:
    """What a step may use while making one architecture's layers."""

    arch: str
    release: str
    store: LayerStore
    epoch: int
    """SOURCE_DATE_EPOCH: the mtime of every entry."""
    cache: Path
    progress: Progress = SILENT
    base_debs: Mapping[str, Path] = field(default_factory=dict)
    """SHA-256 -> .deb of the base flavor's packages (e.g. the Python that compiles pycs)."""


@dataclass(frozen=True)
class Resolved:
    """A third-party artifact a step put in the image, for the provenance: a wheel pip
    resolved, an npm tarball of the lock, a jar the app ships."""

    ecosystem: str
    """``pypi``, ``npm`` or ``jar`` (a jar without known Maven coordinates)."""
    name: str
    """The package's name (``six``, ``@scope/pkg``), or a jar's path relative to the app."""
    version: str
    """Empty when unknown (a jar)."""
    file: str
    """The file the step used: the wheel's or tarball's name, the jar's path."""
    digest: Mapping[str, str]
    """Algorithm -> lowercase hex, as in-toto's DigestSet."""
    url: str | None = None
    """Where it was downloaded from, when the tool says."""


@dataclass(frozen=True)
class AppLayer:
    """A layer a step made, with the history line that describes it."""

    layer: Layer
    created_by: str
    resolved: tuple[Resolved, ...] = ()
    """The third-party artifacts in the layer."""
    recipe: ProjectRecipe | None = None
    """How a warm rebuild makes this layer again without the configuration (a Python
    project's own layer); None when only a full build makes it."""


class Step(Protocol):
    """One packaging step (see the module docstring)."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Return ``config`` with what this step implies filled in."""

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """This step's layers for one architecture, in order."""


_APP_STEPS = {
    "binary": "distill.packagers.binary",
    "python": "distill.packagers.python",
    "node": "distill.packagers.node",
    "java": "distill.packagers.java",
    "go": "distill.packagers.go",
}
_PROBE_STEP = "distill.packagers.probe"


def steps_for(config: Config) -> list[Step]:
    """The steps ``config`` needs: its app's packager, then the health probe (http, https, tcp)."""
    modules = []
    if config.app is not None:
        modules.append(_APP_STEPS[config.app.type])
    if config.healthcheck is not None and config.healthcheck.probe_url is not None:
        modules.append(_PROBE_STEP)
    return [_load(name) for name in modules]


def prepare(config: Config, *, context: PrepareContext) -> Config:
    """Run every step's ``prepare`` in order."""
    for step in steps_for(config):
        config = step.prepare(config, context=context)
    if config.base == "auto":
        raise ConfigError("base: auto needs an app (app: {type: binary, path: ...})")
    if config.files:
        # imported here: it builds on this module's types
        from distill.packagers.native_closure import with_packages
        from distill.packagers.native_files import check_copied_files, copied_native_needs

        check_copied_files(config, context=context)
        config = with_packages(config, copied_native_needs(config, context=context))
    return config


def app_layers(config: Config, *, context: LayerContext) -> Sequence[AppLayer]:
    """Every step's layers for one architecture."""
    return [layer for step in steps_for(config) for layer in step.layers(config, context=context)]


def _load(module_name: str) -> Step:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            kind = module_name.rsplit(".", 1)[-1]
            raise ConfigError(f"packaging {kind} apps is not available yet") from exc
        raise
    step: Step = module.STEP
    return step
