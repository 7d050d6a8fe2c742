"""Build records under ``DISTILL_CACHE/builds/<key>.json``, shared by every warm rebuild.

A record holds the images a full build made (their configs, manifests'
annotations and layer descriptors, with the stat of each layer blob), the
index's annotations for several architectures, and whatever the kind of
build needs to make its last changing layer again (:mod:`~distill.assembly.warm`
for ``distill build``, :mod:`~distill.assembly.warm_python` for ``distill
python``). Its key is a SHA-256 over everything else the build reads
(:func:`record_key`), so a changed input is simply another record.

A record is usable (:func:`usable_record`) when every layer blob is in the
layer store with the same inode, size and times as when it was written (a
cleaned or edited cache falls back to a full build) and, unless the build was
locked, when it is younger than ``DISTILL_INDEX_MAX_AGE`` seconds (the
resolution it reuses is as old as the record).

A changed layer bound for sinks that take tars (the engine, docker archives) can
go out staged, uncompressed, while a thread compresses it into the store and
updates the record (:class:`PendingLayer`, :func:`committing`).
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

from distill.debian.freshness import max_age
from distill.fsutil import atomic_write_bytes, cache_root
from distill.layers.fingerprint import code_fingerprint
from distill.layers.store import LayerStore, StagedLayer
from distill.oci.model import Artifact, Image, ImageIndex, Layer, Platform, canonical_json

FORMAT = 2
"""The records' layout; a record of another format is not read."""
_RACY_NS = 2_000_000_000
"""Files changed within this many nanoseconds of a record are read again next time."""
_MAX_INPUT = 16 << 20
"""Larger configurations and locks are refused by the full build anyway."""
_APT = Path("/etc/apt")


def record_key(settings: dict[str, Any], parts: Sequence[bytes]) -> str:
    """The SHA-256 of ``settings`` (JSON), the records' format, distill's own code,
    ``SOURCE_DATE_EPOCH``, the host's apt sources and ``parts``, each framed by its length."""
    digest = hashlib.sha256()
    document = {**settings, "format": FORMAT, "code": code_fingerprint(),
                "epoch": os.environ.get("SOURCE_DATE_EPOCH", "")}
    for part in [json.dumps(document, sort_keys=True).encode(), *parts, *_apt_sources()]:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class NotSmall(Exception):
    """An input that is not a regular file of at most :data:`_MAX_INPUT` bytes."""


def read_regular(path: Path) -> bytes:
    """The bytes of a small regular file (``-f /dev/zero`` must not be read to its end)."""
    if not stat.S_ISREG(path.stat().st_mode):  # opening a FIFO would wait for a writer
        raise NotSmall(path)
    with path.open("rb") as handle:
        data = handle.read(_MAX_INPUT + 1)
    if len(data) > _MAX_INPUT:
        raise NotSmall(path)
    return data


def write_record(key: str, artifact: Artifact, document: dict[str, Any]) -> None:
    """Record ``artifact`` with the build's own ``document`` under ``key`` (atomically);
    ``document`` holds ``kind``, ``locked`` and ``made_at`` at least."""
    images = artifact.images if isinstance(artifact, ImageIndex) else (artifact,)
    atomic_write_bytes(_record_path(key), canonical_json({
        **document, "format": FORMAT,
        "images": [_image_json(image) for image in images],
        "index": (dict(artifact.annotations) if isinstance(artifact, ImageIndex) else None),
    }))


def usable_record(key: str, *, kind: str, now: float) -> dict[str, Any] | None:
    """The record of ``key`` when it is of ``kind``, young enough and every layer blob is
    untouched (see the module's documentation)."""
    try:
        document: dict[str, Any] = json.loads(_record_path(key).read_bytes())
    except (OSError, ValueError):
        return None
    if document.get("format") != FORMAT or document.get("kind") != kind:
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


def recorded_images(document: dict[str, Any]) -> list[Image]:
    """The images of a record."""
    return [_image_from_json(item) for item in document["images"]]


def recorded_artifact(document: dict[str, Any], images: Sequence[Image]) -> Artifact:
    """``images`` as the record's artifact: the image, or an index with its annotations."""
    if document["index"] is None:
        return images[0]
    return ImageIndex(tuple(images), annotations=document["index"])


def with_layer(image: Image, index: int, layer: Layer) -> Image:
    """``image`` with its layer at ``index`` replaced by ``layer`` (diff_id and descriptor),
    which is exactly what a full build gives when only that layer's files changed."""
    if image.layers[index] == layer:
        return image
    config = image.config
    config["rootfs"]["diff_ids"][index] = layer.diff_id
    layers = list(image.layers)
    layers[index] = layer
    return dataclasses.replace(image, config_bytes=canonical_json(config), layers=tuple(layers))


def layer_store() -> LayerStore:
    """The cache's layer store."""
    return LayerStore(cache_root() / "layers")


Signature = list[list[Any]]
"""Each host path a layer reads: path, mode, size, mtime, ctime, inode (path alone when
it cannot be stat'ed)."""


def path_stat(path: Path) -> list[Any]:
    """``path``'s entry of a :data:`Signature` (not following a link)."""
    try:
        info = path.lstat()
    except OSError:
        return [str(path)]
    return [str(path), info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns,
            info.st_ino]


def settled(seen: Signature) -> Signature | None:
    """``seen``, unless a file changed so recently that a further change within the file
    system's time granularity would keep its times (then the files are read next time)."""
    recent = time.time_ns() - _RACY_NS
    if any(len(item) > 1 and max(item[3], item[4]) >= recent for item in seen):
        return None
    return seen


def replace_layers(images: Sequence[Image], made: Sequence[tuple[int, Layer | StagedLayer]],
                   remember: Callable[[list[Image]], None]
                   ) -> tuple[list[Image], PendingLayer | None]:
    """Each image with its layer at the index ``made`` gives it replaced by the layer made
    for it (a staged one by its tar); ``remember`` gets the images with stored layers at
    once, or from the returned pending commit once the staged tars are compressed."""
    def place(layers: Sequence[Layer]) -> list[Image]:
        return [with_layer(image, index, layer)
                for image, (index, _), layer in zip(images, made, layers, strict=True)]

    placed = place([layer.as_layer() if isinstance(layer, StagedLayer) else layer
                    for _, layer in made])
    staged = tuple(dict.fromkeys(layer for _, layer in made if isinstance(layer, StagedLayer)))
    if not staged:
        remember(placed)
        return placed, None

    def record(stored: Sequence[Layer]) -> None:
        by_tar = dict(zip(staged, stored, strict=True))
        remember(place([by_tar[layer] if isinstance(layer, StagedLayer) else layer
                        for _, layer in made]))

    return placed, PendingLayer(staged, record)


@dataclass(frozen=True)
class PendingLayer:
    """Changed layers staged as tars: :meth:`finish` compresses them into the store and
    records the build with them (``record`` gets the stored layers in order)."""

    staged: tuple[StagedLayer, ...]
    record: Callable[[Sequence[Layer]], None]

    def finish(self) -> None:
        """Store the layers and update the record."""
        store = layer_store()
        self.record([store.commit(staged) for staged in self.staged])


@contextlib.contextmanager
def committing(pending: PendingLayer | None) -> Iterator[None]:
    """Run ``pending.finish()`` in a thread while in the block, and wait for it on leaving.

    Compressing a changed layer then costs no wall-clock time beside the engine's
    load of its tar. The thread's error is raised after the block's own work (a
    failure of the block wins); the staged tars are removed after both.
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
        for staged in pending.staged:
            staged.discard()  # only now: the block's sinks read them
    if failure:
        raise failure[0]


def _record_path(key: str) -> Path:
    return cache_root() / "builds" / f"{key}.json"


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
