"""Reading what a rebase needs through the transports: the app image, the new base,
and the old base (given, or found from the app's annotations)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from distill.errors import ConfigError, RebaseError
from distill.oci.model import Artifact, Image, image_for
from distill.oci.reference import DOCKER, Reference, parse_reference
from distill.rebase.image import RebaseOptions, rebase_artifact
from distill.rebase.old_base import OldBase, annotated, from_flavor, from_image, is_flavor
from distill.transports import read_artifact, read_manifests


def rebase_reference(ref: Reference, *, onto: Reference, old_base: Reference | None,
                     work_dir: Path, options: RebaseOptions,
                     remote_hosts: frozenset[str] = frozenset()) -> Artifact:
    """The image at ``ref`` rebased onto the image at ``onto``.

    ``old_base`` is the image ``ref`` was built on; without it, the one its
    annotations name. Registry images on ``remote_hosts`` (the hosts the result
    goes to, when it goes to one registry only) are read without their layers:
    the push then finds or mounts every layer there.
    """
    read = functools.partial(_read, work_dir=work_dir, remote_hosts=remote_hosts)
    app, new_base = read(ref), read(onto)
    if old_base is not None:
        given = read(old_base)
        find = lambda image: from_image(  # noqa: E731
            image_for(given, architecture=image.platform.architecture), name=str(old_base))
    else:
        find = functools.partial(_annotated_base, work_dir=work_dir, where=str(ref))
    return rebase_artifact(app, new_base=new_base, old_base=find, new_base_name=str(onto),
                           options=options, where=str(ref))


def _read(ref: Reference, *, work_dir: Path, remote_hosts: frozenset[str]) -> Artifact:
    folder = work_dir / hashlib.sha256(str(ref).encode()).hexdigest()[:16]
    if ref.transport == DOCKER and _host(ref) in remote_hosts:
        return read_manifests(ref, folder)
    return read_artifact(ref, folder)


def _host(ref: Reference) -> str:
    return (ref.name or "").partition("/")[0]


def _annotated_base(app: Image, *, work_dir: Path, where: str) -> OldBase:
    """The base ``app``'s annotations name, checked to be the one at that digest."""
    name, digest, layers = annotated(app, where=where)
    if is_flavor(name):
        return from_flavor(name, layers=layers)
    try:
        ref = parse_reference(name)
    except ConfigError as exc:
        raise RebaseError(f"{where}: its base {name} is not an image reference; give "
                          "--old-base REF") from exc
    folder = work_dir / f"old-{digest[7:19]}"
    if ref.transport == DOCKER:  # by digest: the tag may have moved to the new base since
        base = read_manifests(ref, folder, digest=digest)
    else:
        base = read_artifact(ref, folder)
    image = image_for(base, architecture=app.platform.architecture)
    if image.digest != digest:
        raise RebaseError(f"{where} was built on {name} at {digest}, which is now "
                          f"{image.digest}; give --old-base REF")
    old = from_image(image, name=f"{name}@{digest}")
    if old.layers != layers:
        raise RebaseError(f"{where} says its base has {layers} layers, {name}@{digest} has "
                          f"{old.layers}")
    return old
