"""``distill python PATH -o docker-daemon:REF`` of a project whose dependencies did not
change: the recorded images, with the project's layer made again when its files changed.

Neither this module nor what it imports loads click, the configuration model
(pydantic), the resolver, pip, an HTTP client or the SBOM libraries, and
:func:`try_build` takes plain values, so a dispatcher may call it before the
command line is parsed. Outputs that hold referrers (layouts, registries: SBOMs,
provenance, signatures) always go the full way. The policy (what the key covers,
when a record is reused) is in :mod:`distill.assembly.warm_python`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from distill.assembly import warm_python
from distill.cli.warm_build import TAR_SINKS, write_built
from distill.oci.reference import holds_referrers, parse_reference
from distill.packagers.python_source import ProjectRecipe

if TYPE_CHECKING:
    from distill.api import BuildResult

_MISSED: set[str] = set()
"""Keys found without a usable record in this process (a dispatcher may try them first)."""


@dataclass(frozen=True)
class PythonRequest:
    """What ``distill python`` was asked (its options as plain values)."""

    project: Path
    outputs: Sequence[str] = ()
    archs: Sequence[str] | None = None
    release: str = "bookworm"
    name: str | None = None
    """None: the project's name (read by the full build)."""
    variant: str = "nonroot"
    script: str | None = None
    module: str | None = None

    def document(self) -> dict[str, object]:
        """The configuration ``distill python`` builds, without ``name`` unless given."""
        app: dict[str, object] = {"type": "python", "path": str(self.project.absolute())}
        if self.script:
            app["script"] = self.script
        if self.module:
            app["module"] = self.module
        document: dict[str, object] = {"release": self.release, "base": "python3",
                                       "variant": self.variant, "app": app}
        if self.name:
            document["name"] = self.name
        if self.archs:
            document["archs"] = list(self.archs)
        return document

    def key(self) -> str | None:
        """The record key of this build (None: the project cannot be read)."""
        return warm_python.python_key(document=self.document(), project=self.project,
                                      script=self.script)


def try_build(request: PythonRequest, *, quiet: bool) -> bool:
    """Write the recorded build of ``request`` (its project layer made again when needed)
    to its outputs; False when a full build is needed."""
    refs = [parse_reference(text) for text in request.outputs]  # a typo fails before any work
    if not refs or holds_referrers(refs):
        return False
    key = request.key()
    if key is None or key in _MISSED:
        return False
    built = warm_python.reuse(key, stage=all(ref.transport in TAR_SINKS for ref in refs))
    if built is None:
        _MISSED.add(key)
        return False
    write_built(built, refs, quiet=quiet)
    return True


def remember(request: PythonRequest, key: str | None, result: BuildResult, *,
             started: float) -> None:
    """Record a full build of ``request`` for the next warm one, when its key (taken when
    the build started, at ``started``) still holds."""
    if key is None or result.bases or request.key() != key:
        return
    layers = project_layers(result)
    if layers is None:
        return
    from distill.packagers.native_closure import report_lines

    warm_python.remember(key, name=result.name, tag=result.tag, artifact=result.artifact,
                         layers=layers, notes=report_lines(result.native), made_at=started)


def project_layers(result: BuildResult) -> list[tuple[int, ProjectRecipe]] | None:
    """For each image of ``result``, the index of its project layer and its recipe; None
    when an image has no single such layer."""
    found = []
    for image in result.images:
        made = [(layer.layer.digest, layer.recipe)
                for layer in result.app_layers.get(image.platform.architecture, ())
                if layer.recipe is not None]
        digests = [layer.digest for layer in image.layers]
        if len(made) != 1 or digests.count(made[0][0]) != 1:
            return None
        found.append((digests.index(made[0][0]), made[0][1]))
    return found
