"""Warm rebuilds: a build of an unchanged distill.yaml, without validating or resolving it.

A full build costs about half a second before any work: pydantic validates the
configuration, the resolver reads the Debian indexes, httpx fetches each
suite's InRelease. None of that can change the result while its inputs are
unchanged, so after a full build the CLI records the images it made (their
configs, manifests' annotations and layer descriptors) and the recipe of their
files layer, as plain JSON under ``DISTILL_CACHE/builds/<key>.json``.

The key is a SHA-256 over everything else a build reads: the configuration's
path and bytes, the lock's bytes (with ``--locked``), the host's apt sources,
``SOURCE_DATE_EPOCH``, ``--arch`` and distill's own source
(:func:`~distill.layers.fingerprint.code_fingerprint`). Builds whose images
depend on more (an ``app:``, ``certificates:``, a remote base) are not recorded.

A record is reused when:

- every layer blob below the files layer is in the layer store with the same
  inode, size and times as when the record was written (so a cleaned or edited
  cache falls back to a full build);
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

import contextlib
import dataclasses
import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.assembly.host_files import FilesRecipe, recipe_from_json, recipe_layer, recipe_tree
from distill.debian.freshness import max_age
from distill.errors import DistillError
from distill.fsutil import atomic_write_bytes, cache_root
from distill.layers.fingerprint import code_fingerprint
from distill.layers.store import LayerStore, StagedLayer
from distill.oci.model import Artifact, Image, ImageIndex, Layer, Platform, canonical_json

_FORMAT = 1
_RACY_NS = 2_000_000_000
"""Files changed within this many nanoseconds of a record are read again next time."""
_MAX_INPUT = 16 << 20
"""Larger configurations and locks are refused by the full build anyway."""
_APT = Path("/etc/apt")


@dataclass(frozen=True)
class WarmBuild:
    """A build reused from its record: the images, the artifact to write, name and tag."""

    name: str
    tag: str
    images: tuple[Image, ...]
    artifact: Artifact
    pending: PendingLayer | None = None
    """A changed files layer still to be compressed into the store (see :func:`reuse`)."""


def warm_key(*, config_file: Path, archs: Sequence[str] | None, locked: bool,
             lock_path: Path) -> str | None:
    """The record key of this build, or None when an input cannot be read (a full build
    then reports the problem)."""
    digest = hashlib.sha256()
    try:
        path = config_file.resolve()
        parts: list[bytes] = [str(path).encode(), _read_regular(path)]
        if locked:
            parts.append(_read_regular(lock_path))
        parts += _apt_sources()
    except (OSError, _NotSmall):
        return None
    settings = {"format": _FORMAT, "code": code_fingerprint(), "locked": locked,
                "archs": list(archs) if archs is not None else None,
                "epoch": os.environ.get("SOURCE_DATE_EPOCH", "")}
    for part in [json.dumps(settings, sort_keys=True).encode(), *parts]:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def remember(key: str, *, name: str, tag: str, artifact: Artifact, files: FilesRecipe,
             epoch: int, locked: bool, made_at: float,
             files_seen: FilesSignature | None = None) -> None:
    """Record a build's result under ``key`` (written atomically). ``files_seen`` is the
    stat of the files taken before they were read, when it can be trusted."""
    images = artifact.images if isinstance(artifact, ImageIndex) else (artifact,)
    document = {
        "format": _FORMAT, "name": name, "tag": tag, "locked": locked, "made_at": made_at,
        "epoch": epoch,
        "images": [_image_json(image) for image in images],
        "index": (dict(artifact.annotations) if isinstance(artifact, ImageIndex) else None),
        "files": files.to_json(),
        "files_seen": files_seen,
    }
    atomic_write_bytes(_record_path(key), canonical_json(document))


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
        document = _usable_record(key, now=time.time() if now is None else now)
        if document is None:
            return None
        images = [_image_from_json(item) for item in document["images"]]
        recipe = recipe_from_json(document["files"])
        epoch = int(document["epoch"])
    except (KeyError, TypeError, ValueError):  # a record edited by hand: build fully
        return None
    seen = signature(recipe)  # before any file is read: a later change shows next time
    layer: Layer | StagedLayer | None = images[0].layers[-1]
    if seen != document["files_seen"]:
        try:
            layer = _files_layer(recipe, epoch=epoch, stage=stage)
        except DistillError:
            return None  # a full build says what is wrong with the files
    if layer is None:
        return None

    def record(final: Layer) -> None:
        remember(key, name=document["name"], tag=document["tag"],
                 artifact=_artifact([_with_last_layer(i, final) for i in images], document),
                 files=recipe, epoch=epoch, locked=document["locked"],
                 made_at=float(document["made_at"]), files_seen=_settled(seen))

    staged = layer if isinstance(layer, StagedLayer) else None
    current = layer.as_layer() if isinstance(layer, StagedLayer) else layer
    images = [_with_last_layer(image, current) for image in images]
    if staged is None and seen != document["files_seen"]:
        record(current)
    return WarmBuild(name=document["name"], tag=document["tag"], images=tuple(images),
                     artifact=_artifact(images, document),
                     pending=PendingLayer(staged, record) if staged else None)


def _files_layer(recipe: FilesRecipe, *, epoch: int, stage: bool) -> Layer | StagedLayer | None:
    if not stage:
        return recipe_layer(recipe, store=_store(), epoch=epoch)
    keyed = recipe_tree(recipe, epoch=epoch)
    if keyed is None:
        return None
    tree, layer_key = keyed
    return _store().stage(layer_key, tree, mtime=epoch)


def _artifact(images: list[Image], document: dict[str, Any]) -> Artifact:
    if document["index"] is None:
        return images[0]
    return ImageIndex(tuple(images), annotations=document["index"])


@dataclass(frozen=True)
class PendingLayer:
    """A changed files layer staged as a tar: :meth:`finish` compresses it into the store
    and records the build with it."""

    staged: StagedLayer
    record: Callable[[Layer], None]

    def finish(self) -> None:
        """Store the layer and update the record."""
        self.record(_store().commit(self.staged))


@contextlib.contextmanager
def committing(pending: PendingLayer | None) -> Iterator[None]:
    """Run ``pending.finish()`` in a thread while in the block, and wait for it on leaving.

    Compressing a changed layer then costs no wall-clock time beside the engine's
    load of its tar. The thread's error is raised after the block's own work (a
    failure of the block wins); the staged tar is removed after both.
    """
    if pending is None:
        yield
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            pending.finish()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="distill-commit", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        pending.staged.discard()  # only now: the block's sinks read it
    if failure:
        raise failure[0]


def _usable_record(key: str, *, now: float) -> dict[str, Any] | None:
    """The record of ``key`` when it is young enough and every layer blob is untouched."""
    try:
        document: dict[str, Any] = json.loads(_record_path(key).read_bytes())
    except (OSError, ValueError):
        return None
    if document.get("format") != _FORMAT:
        return None
    age = now - float(document["made_at"])
    if not document["locked"] and not 0 <= age < max_age():
        return None
    for item in document["images"]:
        layers = [Path(raw["path"]) for raw in item["layers"]]
        if not all(_intact(path, stamp) for path, stamp in zip(layers, item["stamps"],
                                                                strict=True)):
            return None
    return document


FilesSignature = list[list[Any]]
"""Each host path a recipe reads (folders walked): path, mode, size, mtime, ctime, inode."""


def signature(recipe: FilesRecipe) -> FilesSignature:
    """The stat of every host path ``recipe`` reads, in a fixed order."""
    seen: FilesSignature = []
    for copy in recipe.copies:
        seen.append(_path_stat(copy.src))
        if copy.src.is_dir() and not copy.src.is_symlink():
            for root, dirs, files in os.walk(copy.src):
                dirs.sort()
                seen += [_path_stat(Path(root) / name) for name in sorted(dirs + files)]
    return seen


def _path_stat(path: Path) -> list[Any]:
    try:
        info = path.lstat()
    except OSError:
        return [str(path)]
    return [str(path), info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns,
            info.st_ino]


def _settled(seen: FilesSignature) -> FilesSignature | None:
    """``seen``, unless a file changed so recently that a further change within the file
    system's time granularity would keep its times (then the files are read next time)."""
    recent = time.time_ns() - _RACY_NS
    if any(len(item) > 1 and max(item[3], item[4]) >= recent for item in seen):
        return None
    return seen


class _NotSmall(Exception):
    """An input that is not a regular file of at most :data:`_MAX_INPUT` bytes."""


def _read_regular(path: Path) -> bytes:
    """The bytes of a small regular file (``-f /dev/zero`` must not be read to its end)."""
    if not stat.S_ISREG(path.stat().st_mode):  # opening a FIFO would wait for a writer
        raise _NotSmall(path)
    with path.open("rb") as handle:
        data = handle.read(_MAX_INPUT + 1)
    if len(data) > _MAX_INPUT:
        raise _NotSmall(path)
    return data


def _record_path(key: str) -> Path:
    return cache_root() / "builds" / f"{key}.json"


def _store() -> LayerStore:
    return LayerStore(cache_root() / "layers")


def _apt_sources() -> list[bytes]:
    """The host's apt sources files (the default Debian mirror), names and bytes."""
    paths = [_APT / "sources.list"]
    parts = _APT / "sources.list.d"
    if parts.is_dir():
        paths += sorted(parts.iterdir())
    return [str(p).encode() + b"\0" + p.read_bytes() for p in paths if p.is_file()]


def _stamp(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def _intact(path: Path, stamp: list[int]) -> bool:
    try:
        return _stamp(path) == stamp
    except OSError:
        return False


def _image_json(image: Image) -> dict[str, Any]:
    return {
        "config": image.config_bytes.decode(),
        "platform": dataclasses.asdict(image.platform),
        "annotations": dict(image.annotations),
        "layers": [{"digest": layer.digest, "size": layer.size, "diff_id": layer.diff_id,
                    "uncompressed_size": layer.uncompressed_size, "path": str(layer.path),
                    "media_type": layer.media_type} for layer in image.layers],
        "stamps": [_stamp(layer.path) for layer in image.layers],
    }


def _image_from_json(item: dict[str, Any]) -> Image:
    layers = tuple(Layer(digest=raw["digest"], size=raw["size"], diff_id=raw["diff_id"],
                         uncompressed_size=raw["uncompressed_size"], path=Path(raw["path"]),
                         media_type=raw["media_type"]) for raw in item["layers"])
    return Image(config_bytes=item["config"].encode(), layers=layers,
                 platform=Platform(**item["platform"]), annotations=item["annotations"])


def _with_last_layer(image: Image, layer: Layer) -> Image:
    """``image`` with its last layer (the files layer) replaced by ``layer``."""
    if image.layers[-1] == layer:
        return image
    config = image.config
    config["rootfs"]["diff_ids"][-1] = layer.diff_id
    return dataclasses.replace(image, config_bytes=canonical_json(config),
                               layers=(*image.layers[:-1], layer))
