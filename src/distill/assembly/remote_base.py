"""Images distill did not build as bases (``base: docker://...`` or ``base: oci:...``).

The base is read once into a work folder under the cache (a registry's blobs
stay there, an OCI layout's stay in the layout: neither is copied into the
layer store), checked in full (digests and diff_ids), and its image for each
architecture of the build is picked from its index. The app's image starts with
that image's layers and history and inherits its User, WorkingDir, Env,
Entrypoint and Cmd; the configuration's keys override them. ``distill lock``
pins the base by manifest digest per architecture in a ``base`` entry of
distill.lock, which ``--locked`` checks.

Every layer of the base is walked once to refuse entries that would write
outside the root (see :mod:`distill.layers.base_check`). The caller says how
images are read (its transports), so this package never imports them. An archive base is
unpacked into its own folder under ``bases/``; when the base is refused or
cannot be read, that folder is removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.assembly.runtime import resolve_user
from distill.config import Config
from distill.errors import ConfigError, LockError, TransportError
from distill.flavors import variant_settings
from distill.fsutil import atomic_write_bytes, cache_root
from distill.layers.base_check import VERDICTS, check_image_layers
from distill.oci import media_types
from distill.oci.annotations import BASE_DIGEST, BASE_LAYERS, BASE_NAME
from distill.oci.config import HistoryEntry
from distill.oci.model import Artifact, Image, Layer, image_for
from distill.oci.reference import DOCKER_ARCHIVE, DOCKER_DAEMON, OCI, OCI_ARCHIVE, Reference
from distill.rootfs.accounts import DEFAULT_USERS

_RERUN = "run `distill lock`"


@dataclass(frozen=True)
class RemoteBase:
    """The base image for each architecture of the build."""

    reference: Reference
    images: Mapping[str, Image]


@dataclass(frozen=True)
class Inherited:
    """The runtime settings an app image takes from its base before its own keys."""

    user: str
    workdir: str
    env: dict[str, str]
    config: Config
    """The configuration with the base's entrypoint and cmd where it sets none."""


ReadImage = Callable[[Reference, Path], Artifact]
"""Reads the image at a reference, unpacking what needs unpacking into the folder
given (the caller's transports: :func:`distill.transports.read_artifact`)."""


def need_reader(read: ReadImage | None, ref: Reference) -> ReadImage:
    """``read``, or a ConfigError when a base must be read and the caller gave no reader."""
    if read is None:
        raise ConfigError(f"base {ref}: reading a base image needs an image reader "
                          "(distill.build and the CLI give their transports)")
    return read


def read_remote_base(ref: Reference, archs: Sequence[str], *, read: ReadImage) -> RemoteBase:
    """Read ``ref`` with ``read``, pick its image for each of ``archs`` and check their
    layers' entries."""
    bases = cache_root() / "bases"
    work = bases / hashlib.sha256(str(ref).encode()).hexdigest()[:32]
    unpacked = None
    try:
        if ref.transport != OCI:  # an OCI layout is read where it is
            work.mkdir(parents=True, exist_ok=True)
        if ref.transport in (OCI_ARCHIVE, DOCKER_ARCHIVE, DOCKER_DAEMON):
            unpacked = Path(tempfile.mkdtemp(prefix="read.", dir=work))
        artifact = read(ref, unpacked or work)
        base = RemoteBase(reference=ref, images=_pick_images(ref, artifact, archs))
        for image in base.images.values():
            check_image_layers(image, label=f"base {ref}",
                               verdicts=cache_root() / "verdicts" / VERDICTS)
    except BaseException:
        if unpacked is not None:
            shutil.rmtree(unpacked, ignore_errors=True)
        for folder in (work, bases):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: another build may be using it
        raise
    return base


def _pick_images(ref: Reference, artifact: Artifact, archs: Sequence[str]) -> dict[str, Image]:
    images = {}
    for arch in archs:
        try:
            image = image_for(artifact, architecture=arch)
        except TransportError as exc:  # it names the architectures the index has
            raise ConfigError(f"base {ref}: {exc}") from exc
        if image.platform.architecture != arch:
            raise ConfigError(f"base {ref} is an image for {image.platform.architecture}, "
                              f"the build asks for {arch}")
        images[arch] = image
    return images


def base_layers(image: Image) -> list[Layer]:
    """The base's layers, Docker gzip media types named as their OCI twins (same bytes)."""
    return [dataclasses.replace(layer, media_type=media_types.OCI_LAYER_GZIP)
            if layer.media_type == media_types.DOCKER_LAYER_GZIP else layer
            for layer in image.layers]


def base_history(image: Image) -> list[HistoryEntry]:
    """The base's history (one entry per layer when it has none)."""
    entries = image.config.get("history") or []
    if not entries:
        return [HistoryEntry(f"layer {i + 1} of the base image") for i in range(len(image.layers))]
    return [HistoryEntry(created_by=str(e.get("created_by", "")), comment=str(e.get("comment", "")),
                         empty_layer=bool(e.get("empty_layer", False))) for e in entries]


def inherit(config: Config, image: Image) -> Inherited:
    """The base's runtime settings with the configuration's on top."""
    settings: dict[str, Any] = image.config.get("config") or {}
    env = dict(_split_env(str(item)) for item in settings.get("Env") or [])
    user, workdir = str(settings.get("User") or ""), str(settings.get("WorkingDir") or "")
    if config.variant_is_set:
        variant_user, workdir = variant_settings(config.variant)
        user = resolve_user(variant_user, DEFAULT_USERS)
    if config.accounts.run_as:
        user = resolve_user(config.accounts.run_as, DEFAULT_USERS)
    update: dict[str, Any] = {}
    if config.entrypoint is None:
        update["entrypoint"] = settings.get("Entrypoint")
        if config.cmd is None:
            update["cmd"] = settings.get("Cmd")
    return Inherited(user=user, workdir=workdir, env=env, config=config.model_copy(update=update))


def _split_env(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key, value


def base_annotations(base: RemoteBase, image: Image) -> dict[str, str]:
    """The OCI annotations naming the base image and its digest, and its layer count."""
    return {BASE_NAME: str(base.reference), BASE_DIGEST: image.digest,
            BASE_LAYERS: str(len(image.layers))}


def pin_entry(base: RemoteBase) -> dict[str, Any]:
    """The lock file's ``base`` entry: the reference and each architecture's manifest digest.

    The digest is the manifest's as distill writes the image (the registry's own
    for images distill pushed; for others a digest over the same config and layers).
    """
    return {"reference": str(base.reference),
            "digests": {arch: image.digest for arch, image in sorted(base.images.items())}}


def write_base_pin(lock_path: Path, base: RemoteBase) -> None:
    """Add the ``base`` entry to the lock file ``write_lock`` just wrote."""
    document = _read_json(lock_path)
    document["base"] = pin_entry(base)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write_bytes(lock_path, text.encode("utf-8"))


def check_base_pin(lock_path: Path, base: RemoteBase) -> None:
    """Raise LockError unless the lock pins ``base`` at the digests it has now."""
    pinned = _read_json(lock_path).get("base")
    if not isinstance(pinned, dict) or pinned.get("reference") != str(base.reference):
        raise LockError(f"{lock_path} does not pin the base {base.reference}; {_RERUN}")
    digests = pinned.get("digests") or {}
    for arch, image in sorted(base.images.items()):
        if digests.get(arch) != image.digest:
            raise LockError(
                f"base {base.reference} ({arch}) is now {image.digest}, {lock_path.name} pins "
                f"{digests.get(arch) or 'nothing'}; {_RERUN} to accept the new base"
            )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise LockError(f"no {path.name} at {path}; {_RERUN}") from exc
    except (OSError, ValueError) as exc:
        raise LockError(f"cannot read {path}: {exc}; {_RERUN}") from exc
    if not isinstance(document, dict):
        raise LockError(f"{path}: the lock file must be a JSON object; {_RERUN}")
    return document
