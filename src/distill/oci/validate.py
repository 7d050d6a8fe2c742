"""Check every invariant of an image or index; the oracle of round-trip tests.

:func:`validate` raises :class:`~distill.errors.FormatError` naming the first
broken invariant: media types, well-formed digests, the config's platform,
rootfs and history against the layers, and each layer blob's size and digest,
its decompressed tar's diff_id and size (skipped with ``quick=True``).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import zlib
from typing import Any, Protocol

import zstandard

from distill.errors import FormatError
from distill.oci import media_types
from distill.oci.blobs import open_layer_tar
from distill.oci.digest import check_digest
from distill.oci.model import Image, ImageIndex, Layer

_READ = 1 << 20


def validate(artifact: Image | ImageIndex, *, quick: bool = False) -> None:
    """Raise FormatError naming the first broken invariant of ``artifact``.

    With ``quick`` the layer blobs are checked for size and digest but not
    decompressed.
    """
    if isinstance(artifact, ImageIndex):
        _validate_index(artifact, quick=quick)
    else:
        _validate_image(artifact, quick=quick)


def _validate_index(index: ImageIndex, *, quick: bool) -> None:
    doc = json.loads(index.index_bytes())
    if doc.get("mediaType") != media_types.OCI_INDEX or doc.get("schemaVersion") != 2:
        raise FormatError("image index: wrong mediaType or schemaVersion")
    if not index.images:
        raise FormatError("image index has no images")
    seen: set[str] = set()
    for image in index.images:
        if str(image.platform) in seen:
            raise FormatError(f"image index has two images for platform {image.platform}")
        seen.add(str(image.platform))
        _validate_image(image, quick=quick)


def _validate_image(image: Image, *, quick: bool) -> None:
    where = f"image {image.platform}"
    _check_manifest(image, where)
    config = _parse_config(image, where)
    _check_platform(image, config, where)
    _check_rootfs(image, config, where)
    _check_history(image, config, where)
    for number, layer in enumerate(image.layers, start=1):
        layer_where = f"{where}, layer {number} ({layer.digest})"
        _check_blob(layer, layer_where)
        if not quick:
            _check_tar(layer, layer_where)


def _check_manifest(image: Image, where: str) -> None:
    manifest = json.loads(image.manifest_bytes())
    if manifest.get("schemaVersion") != 2 or manifest.get("mediaType") != media_types.OCI_MANIFEST:
        raise FormatError(f"{where}: manifest has the wrong mediaType or schemaVersion")
    if manifest["config"]["mediaType"] not in (media_types.OCI_CONFIG, media_types.DOCKER_CONFIG):
        raise FormatError(f"{where}: config media type {manifest['config']['mediaType']!r}")
    for number, layer in enumerate(image.layers, start=1):
        if layer.media_type not in media_types.LAYERS:
            raise FormatError(f"{where}: layer {number} has media type {layer.media_type!r}")
        for name, value in (("digest", layer.digest), ("diff_id", layer.diff_id)):
            _well_formed(value, f"{where}: layer {number} {name}")
        if layer.size < 0 or layer.uncompressed_size < 0:
            raise FormatError(f"{where}: layer {number} has a negative size")


def _parse_config(image: Image, where: str) -> dict[str, Any]:
    try:
        config = image.config
    except ValueError as exc:
        raise FormatError(f"{where}: config is not JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise FormatError(f"{where}: config is not a JSON object")
    return config


def _check_platform(image: Image, config: dict[str, Any], where: str) -> None:
    pairs = (("architecture", image.platform.architecture), ("os", image.platform.os),
             ("variant", image.platform.variant))
    for key, expected in pairs:
        if config.get(key) != expected:
            raise FormatError(f"{where}: config {key} is {config.get(key)!r}, not {expected!r}")


def _check_rootfs(image: Image, config: dict[str, Any], where: str) -> None:
    rootfs = config.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise FormatError(f"{where}: config rootfs is missing or not of type 'layers'")
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list):
        raise FormatError(f"{where}: config rootfs.diff_ids is not a list")
    for number, diff_id in enumerate(diff_ids, start=1):
        _well_formed(diff_id, f"{where}: config rootfs.diff_ids[{number}]")
    expected = [layer.diff_id for layer in image.layers]
    if diff_ids != expected:
        raise FormatError(f"{where}: config rootfs.diff_ids {diff_ids} differ from the "
                          f"layers' diff_ids {expected}")


def _check_history(image: Image, config: dict[str, Any], where: str) -> None:
    history = config.get("history")
    if history is None:
        return
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise FormatError(f"{where}: config history is not a list of objects")
    with_layer = sum(1 for h in history if not h.get("empty_layer", False))
    if with_layer != len(image.layers):
        raise FormatError(f"{where}: config history has {with_layer} entries with a layer "
                          f"but the image has {len(image.layers)} layers")


def _check_blob(layer: Layer, where: str) -> None:
    if not layer.path.is_file():
        raise FormatError(f"{where}: blob {layer.path} is missing")
    size = layer.path.stat().st_size
    if size != layer.size:
        raise FormatError(f"{where}: blob {layer.path} has {size} bytes, not {layer.size}")
    digest = hashlib.sha256()
    with layer.path.open("rb") as handle:
        while chunk := handle.read(_READ):
            digest.update(chunk)
    actual = "sha256:" + digest.hexdigest()
    if actual != layer.digest:
        raise FormatError(f"{where}: blob {layer.path} has digest {actual}")


def _check_tar(layer: Layer, where: str) -> None:
    try:
        with open_layer_tar(layer.path, layer.media_type) as source:
            reader = _HashingReader(source)
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for _member in tar:
                    pass
            while reader.read(_READ):
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error, zstandard.ZstdError) as exc:
        raise FormatError(f"{where}: not a readable {layer.media_type}: {exc}") from exc
    diff_id = "sha256:" + reader.digest.hexdigest()
    if diff_id != layer.diff_id:
        raise FormatError(f"{where}: diff_id is {layer.diff_id} but the tar's sha256 is {diff_id}")
    if reader.size != layer.uncompressed_size:
        raise FormatError(f"{where}: uncompressed size is {layer.uncompressed_size} but the "
                          f"tar has {reader.size} bytes")


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _HashingReader:
    """A read-only file that hashes and counts what passes through it."""

    def __init__(self, source: _Readable) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes from the source."""
        data = self._source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _well_formed(digest: object, what: str) -> None:
    if not isinstance(digest, str):
        raise FormatError(f"{what} is not a string")
    try:
        check_digest(digest)
    except FormatError as exc:
        raise FormatError(f"{what}: {exc}") from exc
