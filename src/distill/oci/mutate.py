"""Image -> image transformations, in the manner of go-containerregistry's ``mutate``.

An image is built by starting from an empty one (or a base image) and
applying these functions: append layers with their history lines, set the
runtime settings, set the manifest annotations. Each returns a new
:class:`Image`; the config document is rewritten deterministically (sorted
keys), so equal steps give equal digests.

Every history line of the result carries the image's ``created`` time, so a
build is reproducible from ``SOURCE_DATE_EPOCH`` alone, base history included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from distill.oci.config import (
    HistoryEntry,
    RuntimeConfig,
    config_bytes,
    history_json,
    runtime_json,
)
from distill.oci.model import Image, Layer, Platform, canonical_json


@dataclass(frozen=True)
class Addendum:
    """A layer to append and the history line that says what made it."""

    layer: Layer
    history: HistoryEntry


def empty_image(platform: Platform, *, created: int) -> Image:
    """An image with no layers and no runtime settings, created at ``created`` (epoch seconds)."""
    document = config_bytes(platform=platform, runtime=RuntimeConfig(), diff_ids=(), history=(),
                            created=created)
    return Image(config_bytes=document, layers=(), platform=platform)


def append_layers(image: Image, addenda: Iterable[Addendum]) -> Image:
    """``image`` with ``addenda``'s layers on top and their lines added to its history."""
    added = list(addenda)
    if not added:
        return image
    config = image.config
    created: str | None = config.get("created")
    config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    config["rootfs"]["diff_ids"] = [*config["rootfs"].get("diff_ids", []),
                                    *(item.layer.diff_id for item in added)]
    config["history"] = [*config.get("history", []),
                         *(history_json(item.history, created) for item in added)]
    return dataclasses.replace(
        image, config_bytes=canonical_json(config),
        layers=(*image.layers, *(item.layer for item in added)),
    )


def with_history(image: Image, history: Sequence[HistoryEntry]) -> Image:
    """``image`` with its history replaced by ``history``, stamped with its ``created`` time."""
    config = image.config
    config["history"] = [history_json(entry, config.get("created")) for entry in history]
    return dataclasses.replace(image, config_bytes=canonical_json(config))


def with_runtime(image: Image, runtime: RuntimeConfig) -> Image:
    """``image`` with its runtime settings (the config's ``config`` object) set to ``runtime``."""
    config = image.config
    config["config"] = runtime_json(runtime)
    return dataclasses.replace(image, config_bytes=canonical_json(config))


def with_annotations(image: Image, annotations: Mapping[str, str]) -> Image:
    """``image`` with ``annotations`` added to its manifest's (later keys win)."""
    return dataclasses.replace(image, annotations={**image.annotations, **annotations})


def shared_annotations(each: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The key/value pairs every mapping of ``each`` has (in the first one's order): what an
    index carries of its images' annotations."""
    if not each:
        return {}
    first, *rest = each
    return {key: value for key, value in first.items()
            if all(other.get(key) == value for other in rest)}
