"""Warm rebuilds: a build of an unchanged distill.yaml, without validating or resolving it.

A full build costs about half a second before any work: pydantic validates the
configuration, the resolver reads the Debian indexes, httpx fetches each
suite's InRelease. None of that can change the result while its inputs are
unchanged, so after a full build the CLI records the images it made (their
configs, manifests' annotations and layer descriptors) and the recipe of their
files layer, as plain JSON under ``DISTILL_CACHE/builds/<key>.json``
(:mod:`~distill.assembly.warm_record`).

The key is a SHA-256 over everything else a build reads: the configuration's
path and bytes, the lock's bytes (with ``--locked``), the host's apt sources,
``SOURCE_DATE_EPOCH``, ``--arch`` and distill's own source
(:func:`~distill.layers.fingerprint.code_fingerprint`). Builds whose images
depend on more (an ``app:``, ``certificates:``, a remote base) are not recorded.

A record is reused when:

- every layer blob is in the layer store with the same inode, size and times as
  when the record was written (so a cleaned or edited cache falls back to a
  full build);
- for an unlocked build, the resolution is younger than
  ``DISTILL_INDEX_MAX_AGE`` seconds (default 3600; 0 never reuses one), as apt
  trusts its lists until ``apt update``: a package updated on the mirror within
  that time is picked up by the next build after it, or at once with
  ``distill build --refresh`` or ``distill lock``. ``--locked`` builds need no
  index at all, so their records do not age.

The ``files:`` are checked by stat first (path, mode, size, mtime, ctime,
inode of every file, folders walked): when nothing moved, the recorded files
layer is used as it is. Otherwise the layer is made again from its recipe (the
files re-read and hashed; a layer store hit when the bytes are the same), and
when its digest changed it replaces the last layer of each image (its diff_id
in the config, its descriptor in the manifest), which is exactly what a full
build would give. The stat is taken before the files are read, and is not kept
when a file changed in the last two seconds (a change within the file system's
time granularity could keep the same times), as git does for its index.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.assembly import warm_record as record
from distill.assembly.host_files import FilesRecipe, recipe_from_json, recipe_layer, recipe_tree
from distill.assembly.warm_record import PendingLayer, committing
from distill.errors import DistillError
from distill.layers.store import StagedLayer
from distill.oci.model import Artifact, Image, Layer

__all__ = ["FilesSignature", "PendingLayer", "WarmBuild", "committing", "remember", "reuse",
           "signature", "warm_key"]

_KIND = "build"


@dataclass(frozen=True)
class WarmBuild:
    """A build reused from its record: the images, the artifact to write, name and tag."""

    name: str
    tag: str
    images: tuple[Image, ...]
    artifact: Artifact
    pending: PendingLayer | None = None
    """Changed layers still to be compressed into the store (see :func:`reuse`)."""
    notes: tuple[str, ...] = ()
    """What the full build said after its result table (the packages it added and why)."""


FilesSignature = record.Signature
"""Each host path a recipe reads (folders walked): path, mode, size, mtime, ctime, inode."""


def warm_key(*, config_file: Path, archs: Sequence[str] | None, locked: bool,
             lock_path: Path) -> str | None:
    """The record key of this build, or None when an input cannot be read (a full build
    then reports the problem)."""
    try:
        path = config_file.resolve()
        parts: list[bytes] = [str(path).encode(), record.read_regular(path)]
        if locked:
            parts.append(record.read_regular(lock_path))
        settings = {"kind": _KIND, "locked": locked,
                    "archs": list(archs) if archs is not None else None}
        return record.record_key(settings, parts)
    except (OSError, record.NotSmall):
        return None


def remember(key: str, *, name: str, tag: str, artifact: Artifact, files: FilesRecipe,
             epoch: int, locked: bool, made_at: float,
             files_seen: FilesSignature | None = None) -> None:
    """Record a build's result under ``key`` (written atomically). ``files_seen`` is the
    stat of the files taken before they were read, when it can be trusted."""
    record.write_record(key, artifact, {
        "kind": _KIND, "name": name, "tag": tag, "locked": locked, "made_at": made_at,
        "epoch": epoch, "files": files.to_json(), "files_seen": files_seen,
    })


def reuse(key: str, *, now: float | None = None, stage: bool = False) -> WarmBuild | None:
    """The recorded build of ``key`` with its files layer made again, or None when there is
    no usable record (see the module's documentation).

    With ``stage``, a files layer that changed is not compressed yet: the images
    carry its tar (the same diff_id, so the same configs and image IDs), for
    sinks that take tars (the engine, docker archives), and the build's
    ``pending`` compresses it into the store and updates the record: run it
    while the outputs are written (:func:`committing`).
    """
    try:
        document = record.usable_record(key, kind=_KIND, now=time.time() if now is None else now)
        if document is None:
            return None
        images = record.recorded_images(document)
        recipe = recipe_from_json(document["files"])
        epoch = int(document["epoch"])
    except (KeyError, TypeError, ValueError):  # a record edited by hand: build fully
        return None
    seen = signature(recipe)  # before any file is read: a later change shows next time
    built = WarmBuild(name=document["name"], tag=document["tag"], images=tuple(images),
                      artifact=record.recorded_artifact(document, images))
    if seen == document["files_seen"]:
        return built
    try:
        layer = _files_layer(recipe, epoch=epoch, stage=stage)
    except DistillError:
        return None  # a full build says what is wrong with the files
    if layer is None:
        return None

    return with_made(built, document, [(-1, layer)] * len(images), lambda artifact: remember(
        key, name=built.name, tag=built.tag, artifact=artifact, files=recipe, epoch=epoch,
        locked=document["locked"], made_at=float(document["made_at"]),
        files_seen=record.settled(seen)))


def with_made(built: WarmBuild, document: dict[str, Any],
              made: Sequence[tuple[int, Layer | StagedLayer]],
              remember_artifact: Callable[[Artifact], None]) -> WarmBuild:
    """``built`` (as recorded in ``document``) with the layers ``made`` in place (see
    :func:`~distill.assembly.warm_record.replace_layers`); ``remember_artifact`` records
    the build once they are stored."""
    placed, pending = record.replace_layers(
        built.images, made,
        lambda final: remember_artifact(record.recorded_artifact(document, final)))
    return dataclasses.replace(built, images=tuple(placed), pending=pending,
                               artifact=record.recorded_artifact(document, placed))


def _files_layer(recipe: FilesRecipe, *, epoch: int, stage: bool) -> Layer | StagedLayer | None:
    if not stage:
        return recipe_layer(recipe, store=record.layer_store(), epoch=epoch)
    keyed = recipe_tree(recipe, epoch=epoch)
    if keyed is None:
        return None
    tree, layer_key = keyed
    return record.layer_store().stage(layer_key, tree, mtime=epoch)


def signature(recipe: FilesRecipe) -> FilesSignature:
    """The stat of every host path ``recipe`` reads, in a fixed order."""
    seen: FilesSignature = []
    for copy in recipe.copies:
        seen.append(record.path_stat(copy.src))
        if copy.src.is_dir() and not copy.src.is_symlink():
            for root, dirs, files in os.walk(copy.src):
                dirs.sort()
                seen += [record.path_stat(Path(root) / name) for name in sorted(dirs + files)]
    return seen
