"""What a rebase knows of the base an app image was built on.

From an image (``--old-base REF``, or the image the app's annotations name):
its layer count, diff_ids and settings. From the annotations of an image built
on a distill flavor (``org.opencontainers.image.base.name`` is then
``distill/FLAVOR-RELEASE:VARIANT``): the layer count, and the settings that
flavor and variant give (without the variables derived from package versions,
such as java's ``JAVA_VERSION``: an app image keeps its own value of those).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distill.errors import ConfigError, RebaseError
from distill.oci.annotations import BASE_DIGEST, BASE_LAYERS, BASE_NAME
from distill.oci.model import Image
from distill.rootfs.accounts import DEFAULT_USERS

FLAVOR_PREFIX = "distill/"


@dataclass(frozen=True, kw_only=True)
class OldBase:
    """The base under an app image's own layers."""

    name: str
    layers: int
    """How many of the app image's first layers are the base's."""
    diff_ids: tuple[str, ...] | None = None
    """The base's diff_ids, when the base itself was read."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The base's ``config`` object (Docker's key names)."""


def from_image(image: Image, *, name: str) -> OldBase:
    """The old base read as an image."""
    return OldBase(name=name, layers=len(image.layers),
                   diff_ids=tuple(layer.diff_id for layer in image.layers),
                   settings=image.config.get("config") or {})


def annotated(app: Image, *, where: str) -> tuple[str, str, int]:
    """The base's name, manifest digest and layer count from ``app``'s annotations."""
    name, digest = app.annotations.get(BASE_NAME), app.annotations.get(BASE_DIGEST)
    count = app.annotations.get(BASE_LAYERS, "")
    if not name or not digest or not count.isdigit():
        raise RebaseError(f"{where} does not say which base it was built on (distill writes "
                          f"{BASE_DIGEST} and {BASE_LAYERS} on images it builds on a base); "
                          "give --old-base REF")
    return name, digest, int(count)


def is_flavor(name: str) -> bool:
    """Whether ``name`` is the base name distill writes for a flavor base."""
    return name.startswith(FLAVOR_PREFIX)


def from_flavor(name: str, *, layers: int) -> OldBase:
    """The old base ``distill/FLAVOR-RELEASE:VARIANT`` with ``layers`` layers."""
    # Imported here: the flavor catalog costs a third of a second to import, and only an
    # image built on a flavor needs it.
    from distill.flavors import flavor_entrypoint, flavor_env, variant_settings

    label, _, variant = name.removeprefix(FLAVOR_PREFIX).partition(":")
    flavor = label.rpartition("-")[0]
    try:
        user, workdir = variant_settings(variant)
        settings: dict[str, Any] = {
            "User": _ids(user), "WorkingDir": workdir,
            "Env": [f"{k}={v}" for k, v in flavor_env(flavor, variant).items()],
        }
        entrypoint = flavor_entrypoint(flavor, variant)
    except ConfigError as exc:  # an unknown flavor or variant
        raise RebaseError(f"base {name}: not a distill flavor base; give --old-base REF") \
            from exc
    if entrypoint is not None:
        settings["Entrypoint"] = list(entrypoint)
    return OldBase(name=name, layers=layers, settings=settings)


def _ids(spec: str) -> str:
    """``uid:gid`` of a variant's user (a name or ``uid[:gid]``), as distill writes ``User``."""
    for user in DEFAULT_USERS:
        if user.name == spec:
            return f"{user.uid}:{user.gid}"
    uid, _, gid = spec.partition(":")
    return f"{uid}:{gid or uid}"
