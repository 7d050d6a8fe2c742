"""Putting an app image's own layers on a new base: the image -> image step.

The app's own layers are kept as they are (same blobs, same digests); the
result's config lists the new base's diff_ids and history, then the app's;
its runtime settings follow :mod:`.settings`; its annotations name the new base.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from distill.errors import RebaseError
from distill.oci import media_types
from distill.oci.annotations import BASE_DIGEST, BASE_LAYERS, BASE_NAME
from distill.oci.config import HistoryEntry, runtime_from_json
from distill.oci.model import Artifact, Image, ImageIndex, Layer, Platform
from distill.oci.mutate import (
    Addendum,
    append_layers,
    empty_image,
    with_annotations,
    with_history,
    with_runtime,
)
from distill.rebase.old_base import OldBase
from distill.rebase.settings import changed_user, merge_settings


@dataclass(frozen=True, kw_only=True)
class RebaseOptions:
    """What a rebase may change besides the base layers."""

    allow_platform_change: bool = False
    """An index may lose (or the new base lack) platforms: they are dropped."""
    allow_user_change: bool = False
    """The new base may run as another user than the old one."""


def rebase_image(app: Image, *, old_base: OldBase, new_base: Image, new_base_name: str,
                 options: RebaseOptions, where: str) -> Image:
    """``app`` with ``old_base``'s layers replaced by ``new_base``'s (``where`` names
    ``app`` in messages)."""
    check_old_base(app, old_base, where=where)
    new_settings: Mapping[str, Any] = new_base.config.get("config") or {}
    problem = changed_user(old_base=old_base.settings, new_base=new_settings)
    if problem is not None and not options.allow_user_change:
        raise RebaseError(f"{where}: {problem}; --allow-user-change rebases it anyway")
    own = app.layers[old_base.layers:]
    image = append_layers(empty_image(app.platform, created=_created(app)), [
        Addendum(layer, HistoryEntry("")) for layer in _oci(*new_base.layers, *own)])
    image = with_history(image, [*history(new_base), *history(app)[_own_start(app, old_base)
                                                                    :]])
    settings = merge_settings(app=app.config.get("config") or {}, old_base=old_base.settings,
                              new_base=new_settings)
    image = with_runtime(image, runtime_from_json(settings))
    return with_annotations(dataclasses.replace(image, annotations=app.annotations), {
        BASE_NAME: new_base_name, BASE_DIGEST: new_base.digest,
        BASE_LAYERS: str(len(new_base.layers))})


def check_old_base(app: Image, old_base: OldBase, *, where: str) -> None:
    """Raise RebaseError unless ``app``'s first layers are ``old_base``'s."""
    if old_base.layers > len(app.layers):
        raise RebaseError(f"{where} has {len(app.layers)} layers, fewer than its base "
                          f"{old_base.name} ({old_base.layers}): it was not built on it")
    if old_base.diff_ids is None:
        return
    for number, (have, base) in enumerate(zip(app.layers, old_base.diff_ids, strict=False), 1):
        if have.diff_id != base:
            raise RebaseError(f"{where} was not built on {old_base.name}: its layer {number} "
                              f"is {have.diff_id}, the base's is {base}")


def history(image: Image) -> list[HistoryEntry]:
    """The image's history (one line per layer when it has none)."""
    entries = image.config.get("history") or []
    if not entries:
        return [HistoryEntry(f"layer {i + 1}") for i in range(len(image.layers))]
    return [HistoryEntry(created_by=str(e.get("created_by", "")), comment=str(e.get("comment", "")),
                         empty_layer=bool(e.get("empty_layer", False))) for e in entries]


def _own_start(app: Image, old_base: OldBase) -> int:
    """Where the app's own history lines start: after the line of its base's last layer."""
    layers = 0
    for index, entry in enumerate(history(app)):
        if layers == old_base.layers:
            return index
        layers += not entry.empty_layer
    return len(history(app))


def _oci(*layers: Layer) -> list[Layer]:
    """Docker gzip layers named as their OCI twins (same bytes), as the manifest is OCI's."""
    return [dataclasses.replace(layer, media_type=media_types.OCI_LAYER_GZIP)
            if layer.media_type == media_types.DOCKER_LAYER_GZIP else layer for layer in layers]


def _created(image: Image) -> int:
    text = str(image.config.get("created") or "")
    try:
        return int(datetime.datetime.fromisoformat(text).timestamp())
    except ValueError:
        return 0


def rebase_artifact(app: Artifact, *, new_base: Artifact, old_base: Callable[[Image], OldBase],
                    new_base_name: str, options: RebaseOptions, where: str) -> Artifact:
    """Rebase each image of ``app`` on the new base's image for its platform.

    An index must find the same platforms in the new base (unless
    ``allow_platform_change``: the platforms one lacks are dropped); a single
    image needs its own platform there.
    """
    apps, bases = _images(app), {_key(image.platform): image for image in _images(new_base)}
    missing = [image.platform for image in apps if _key(image.platform) not in bases]
    extra = [key for key in bases if isinstance(app, ImageIndex) and
             key not in {_key(image.platform) for image in apps}]
    if (missing or extra) and not options.allow_platform_change:
        raise RebaseError(f"{where} is for {_list(i.platform for i in apps)}, the new base "
                          f"{new_base_name} for {_list(b.platform for b in bases.values())}; "
                          "--allow-platform-change rebases the platforms both have")
    rebased = tuple(rebase_image(image, old_base=old_base(image),
                                 new_base=bases[_key(image.platform)],
                                 new_base_name=new_base_name, options=options,
                                 where=f"{where} ({image.platform})")
                    for image in apps if _key(image.platform) in bases)
    if not rebased:
        raise RebaseError(f"{where}: the new base {new_base_name} has none of its platforms")
    if isinstance(app, Image):
        return rebased[0]
    named = {BASE_NAME: new_base_name} if BASE_NAME in app.annotations else {}
    return ImageIndex(rebased, annotations={**app.annotations, **named})


def _key(platform: Platform) -> tuple[str, str, str]:
    """A platform as matched: arm64 without a variant is arm64/v8 (as containerd reads it)."""
    variant = platform.variant or ("v8" if platform.architecture == "arm64" else "")
    return platform.os, platform.architecture, variant


def _images(artifact: Artifact) -> Sequence[Image]:
    return artifact.images if isinstance(artifact, ImageIndex) else (artifact,)


def _list(platforms: Iterable[Platform]) -> str:
    return ", ".join(sorted(str(p) for p in platforms)) or "nothing"
