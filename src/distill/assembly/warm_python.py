"""Warm rebuilds of ``distill python``: the recorded images, the project's layer made again.

A full ``distill python`` build validates the configuration it synthesizes,
resolves the Debian packages and the wheels (pip) and makes two layers per
architecture; a one-line change of the project's code changes only the last of
them, the project's own layer. After a full build the CLI records the images
and, for each, the place of that layer and its recipe
(:class:`~distill.packagers.python_source.ProjectRecipe`) under
``DISTILL_CACHE/builds/<key>.json`` (:mod:`~distill.assembly.warm_record`).

The key covers everything the full build reads but the project's own files:
the configuration the command line makes (name, release, variant, script,
module, architectures and the project's path), the project folder's resolved
path, the bytes of the files that declare its dependencies and metadata
(``pyproject.toml``, ``requirements*.txt``, ``pylock.toml``, ``uv.lock``),
whether it has a ``src`` folder (its import root) and whether ``--script``
names one of its files, the host's apt sources, ``SOURCE_DATE_EPOCH`` and
distill's own source. The resolution ages as ``distill build``'s does
(``DISTILL_INDEX_MAX_AGE``): the wheels are resolved once per dependency list,
like the Debian packages once per index.

On a warm run the project's kept entries (:func:`project_signature`: the same
walk and ignore rules as the full build, each file's stat) are compared with
the record's: unchanged, the images are written as they are; changed, the
project layer of each image is made again from its recipe (compiled by the
image's interpreter unpacked in the cache; a full build when it is gone) and
replaces the recorded one (diff_id and descriptor), which is exactly the image
a full build gives. As for ``distill build``, the stat is taken before the files
are read and is kept only when nothing changed in the last two seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distill.assembly import warm_record as record
from distill.assembly.warm import WarmBuild, with_made
from distill.errors import DistillError
from distill.layers.store import StagedLayer
from distill.oci.model import Artifact, Layer
from distill.packagers.project_ignore import project_entries
from distill.packagers.python_project import LOCK_FILES
from distill.packagers.python_source import (
    ProjectRecipe,
    project_layer,
    recipe_from_json,
    staged_project_layer,
)

_KIND = "python"
DECLARING_FILES = ("pyproject.toml", *LOCK_FILES)
"""The files besides ``requirements*.txt`` that the full build reads for more than their
place in the project layer."""


def python_key(*, document: dict[str, Any], project: Path, script: str | None) -> str | None:
    """The record key of a ``distill python`` build of ``project`` whose configuration is
    ``document``; None when the folder cannot be read (a full build reports it)."""
    try:
        root = project.resolve()
        if not root.is_dir():
            return None
        declaring = [root / name for name in DECLARING_FILES if (root / name).exists()]
        declaring += sorted(root.glob("requirements*.txt"))
        parts = [str(root).encode()]
        parts += [path.name.encode() + b"\0" + record.read_regular(path) for path in declaring]
        settings = {"kind": _KIND, "config": document, "src": (root / "src").is_dir(),
                    "script_file": script is not None and (root / script).is_file()}
        return record.record_key(settings, parts)
    except (OSError, record.NotSmall):
        return None


def remember(key: str, *, name: str, tag: str, artifact: Artifact,
             layers: Sequence[tuple[int, ProjectRecipe]], notes: Sequence[str],
             made_at: float, project_seen: record.Signature | None = None) -> None:
    """Record a ``distill python`` build under ``key``: ``layers`` holds, for each image in
    order, the index of its project layer and that layer's recipe; ``notes`` is what the
    build said after its result table; ``project_seen`` the project's signature taken
    before its files were read, when it can be trusted."""
    record.write_record(key, artifact, {
        "kind": _KIND, "name": name, "tag": tag, "locked": False, "made_at": made_at,
        "notes": list(notes), "project_seen": project_seen,
        "project": [{"index": index, "recipe": recipe.to_json()} for index, recipe in layers],
    })


def reuse(key: str, *, now: float | None = None, stage: bool = False) -> WarmBuild | None:
    """The recorded build of ``key`` with its project layers made again when the project
    changed, or None when a full build is needed (see the module's documentation).

    With ``stage``, changed layers go out as their tars (for the engine and docker
    archives) and the build's ``pending`` compresses them and updates the record, as
    :func:`distill.assembly.warm.reuse` does."""
    try:
        document = record.usable_record(key, kind=_KIND, now=time.time() if now is None else now)
        if document is None:
            return None
        images = record.recorded_images(document)
        layers = [(int(item["index"]), recipe_from_json(item["recipe"]))
                  for item in document["project"]]
    except (KeyError, TypeError, ValueError):  # a record edited by hand: build fully
        return None
    if not layers or len(layers) != len(images):
        return None
    built = WarmBuild(name=document["name"], tag=document["tag"], images=tuple(images),
                      artifact=record.recorded_artifact(document, images),
                      notes=tuple(document["notes"]))
    try:
        seen = project_signature(layers[0][1])  # before any file is read
        if seen == document["project_seen"]:
            return built
        made = _remade(layers, stage=stage)
    except DistillError:
        return None  # a full build says what is wrong with the project
    if made is None:
        return None

    made_at = float(document["made_at"])
    return with_made(built, document, [(index, layer) for (index, _), layer
                                       in zip(layers, made, strict=True)],
                     lambda artifact: remember(key, name=built.name, tag=built.tag,
                                               artifact=artifact, layers=layers,
                                               notes=built.notes, made_at=made_at,
                                               project_seen=record.settled(seen)))


def project_signature(recipe: ProjectRecipe) -> record.Signature:
    """Each entry the project layer copies, as the full build picks them: a folder by its
    path alone (running the app adds ``__pycache__`` to it, which is left out), anything
    else by its stat."""
    return [[entry.relative] if entry.is_dir else record.path_stat(recipe.root / entry.relative)
            for entry in project_entries(recipe.root, import_root=recipe.import_root)]


def _remade(layers: Sequence[tuple[int, ProjectRecipe]], *,
            stage: bool) -> list[Layer | StagedLayer] | None:
    """Each image's project layer made again (staged: from the store or as a tar); None
    when an interpreter is no longer unpacked in the cache (the full build unpacks it)."""
    if any(recipe.runtime.compiles and not recipe.runtime.unpacked() for _, recipe in layers):
        return None
    store = record.layer_store()
    if stage:
        return [staged_project_layer(recipe, store=store) for _, recipe in layers]
    return [project_layer(recipe, store=store) for _, recipe in layers]
