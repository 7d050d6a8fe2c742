"""The OCI image layout: a folder with ``oci-layout``, ``index.json`` and ``blobs/``.

Writing a new layout builds it in a temporary folder renamed into place. Writing
into an existing layout adds (or replaces) the entry with the same tag and keeps
the others, as skopeo does: blobs are written first, each atomically, and
``index.json`` is replaced last, so a failure leaves the old index intact.
A blob already in an existing layout is kept only when its bytes match its digest.

Layer blobs are copied (reflinked where the file system can), never hard-linked:
any tool may rewrite a layout, and a shared inode would carry the edit into the
layer cache. A copy hashes the bytes it reads, so a layer file that no longer
matches its digest is refused instead of written. Files and folders follow the
umask. A ``path`` that is a symbolic link is written through.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from distill.errors import FormatError, IntegrityError, TransportError
from distill.fsutil import (
    atomic_dir,
    atomic_write_bytes,
    atomic_writer,
    cache_root,
    try_reflink,
    write_failure,
)
from distill.oci import media_types
from distill.oci.blobs import file_digest, measure_blob, size_hint
from distill.oci.digest import digest_hex, sha256_digest
from distill.oci.model import (
    Artifact,
    Descriptor,
    Image,
    ImageIndex,
    Layer,
    Platform,
    canonical_json,
)
from distill.oci.reference import Reference
from distill.oci.verified import VerifiedFiles
from distill.progress import SILENT, Progress
from distill.transports.protocol import need_path

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_FILE = "oci-layout"
LAYOUT_BYTES = canonical_json({"imageLayoutVersion": "1.0.0"})
_CHUNK = 1 << 20


def write(artifact: Artifact, path: Path, *, tag: str | None) -> None:
    """Write ``artifact`` into the OCI layout at ``path`` under ``tag``."""
    _check_layer_files(artifact)
    if _is_layout(path):
        _add_to_layout(artifact, path, tag=tag)
        return
    if path.exists() and not (path.is_dir() and not any(path.iterdir())):
        raise TransportError(f"{path} exists and is not an OCI image layout")
    try:
        with atomic_dir(path) as tmp:
            _write_blobs(artifact, tmp, fresh=True)
            (tmp / LAYOUT_FILE).write_bytes(LAYOUT_BYTES)
            (tmp / "index.json").write_bytes(top_index([], artifact, tag))
    except OSError as exc:
        raise TransportError(write_failure(path, exc)) from exc


def layout_blobs(artifact: Artifact) -> dict[str, bytes | Layer]:
    """Every blob of ``artifact``'s layout by digest hex: bytes, or the layer to copy."""
    blobs: dict[str, bytes | Layer] = {}
    for image in _images(artifact):
        for layer in image.layers:
            blobs[digest_hex(layer.digest)] = layer
        for data in (image.config_bytes, image.manifest_bytes()):
            blobs[digest_hex(sha256_digest(data))] = data
    if isinstance(artifact, ImageIndex):
        data = artifact.index_bytes()
        blobs[digest_hex(sha256_digest(data))] = data
    return blobs


def copy_layer(layer: Layer, out: BinaryIO) -> None:
    """Copy ``layer``'s blob into the empty file ``out``, checking its digest and size.

    A reflink is trusted (the layer file was checked when it was read or
    cached); a copy hashes what it reads. Errors writing ``out`` stay OSError;
    errors reading the layer become TransportError naming the layer file.
    """
    try:
        source = layer.path.open("rb")
    except OSError as exc:
        raise TransportError(f"cannot read layer {layer.path}: {exc}") from exc
    with source:
        if try_reflink(source, out):
            return
        hasher, size = hashlib.sha256(), 0
        while chunk := _read(source, layer.path):
            hasher.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if (f"sha256:{hasher.hexdigest()}", size) != (layer.digest, layer.size):
        raise IntegrityError(f"layer file {layer.path} does not match its digest {layer.digest}")


def _read(source: BinaryIO, path: Path) -> bytes:
    try:
        return source.read(_CHUNK)
    except OSError as exc:
        raise TransportError(f"cannot read layer {path}: {exc}") from exc


def read(path: Path, *, tag: str | None, check_diff_ids: bool = True) -> Artifact:
    """Read the image or index tagged ``tag`` (or the only entry) from the layout at ``path``.

    Manifests, configs and layer blobs are checked against their digests; the
    returned layers point into the layout's ``blobs`` folder. With
    ``check_diff_ids`` each layer is also unpacked to check its diff_id and
    measure its tar; without it (a copy to a registry or a layout, as skopeo
    does) only the compressed digest is checked, which already pins the bytes,
    and ``uncompressed_size`` is the gzip trailer's size (0 when unknown).
    """
    if not _is_layout(path):
        raise TransportError(f"{path} is not an OCI image layout (no {LAYOUT_FILE} file)")
    entry = _select(_read_index_json(path).get("manifests", []), path=path, tag=tag)
    descriptor = _descriptor(entry, where=f"{path}/index.json")
    if descriptor.media_type in media_types.INDEXES:
        return _read_index(path, descriptor, full=check_diff_ids)
    if descriptor.media_type in media_types.MANIFESTS:
        return _read_image(path, descriptor, full=check_diff_ids)
    raise FormatError(f"{path}/index.json: unsupported media type {descriptor.media_type!r}")


# Writing


def _check_layer_files(artifact: Artifact) -> None:
    for image in _images(artifact):
        for layer in image.layers:
            try:
                size = layer.path.stat().st_size
            except OSError as exc:
                raise TransportError(f"cannot read layer {layer.digest}: {exc}") from exc
            if size != layer.size:
                raise TransportError(
                    f"layer file {layer.path} has {size} bytes, its descriptor says {layer.size}"
                )


def _images(artifact: Artifact) -> tuple[Image, ...]:
    return artifact.images if isinstance(artifact, ImageIndex) else (artifact,)


def _add_to_layout(artifact: Artifact, path: Path, *, tag: str | None) -> None:
    try:
        existing = _read_index_json(path).get("manifests", [])
        _write_blobs(artifact, path, fresh=False)
        atomic_write_bytes(path / "index.json", top_index(existing, artifact, tag))
    except OSError as exc:
        raise TransportError(write_failure(path, exc)) from exc


def _write_blobs(artifact: Artifact, root: Path, *, fresh: bool) -> None:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for name, content in layout_blobs(artifact).items():
        target = blobs / name
        if not fresh and _holds(target, content):
            continue
        # a fresh layout appears whole when its folder is renamed; an existing one
        # is read by others meanwhile, so each blob lands atomically there
        with (target.open("wb") if fresh else atomic_writer(target)) as out:
            if isinstance(content, Layer):
                copy_layer(content, out)
            else:
                out.write(content)


def _holds(target: Path, content: bytes | Layer) -> bool:
    """Whether the existing blob ``target`` has the right bytes (size, then digest)."""
    size = content.size if isinstance(content, Layer) else len(content)
    try:
        return target.stat().st_size == size and file_digest(target) == f"sha256:{target.name}"
    except OSError:
        return False


def top_index(existing: list[dict[str, Any]], artifact: Artifact, tag: str | None) -> bytes:
    """The layout's ``index.json``: the ``existing`` entries plus ``artifact`` under ``tag``."""
    if isinstance(artifact, ImageIndex):
        data = artifact.index_bytes()
        entry = Descriptor(media_types.OCI_INDEX, sha256_digest(data), len(data)).to_json()
    else:
        entry = artifact.manifest_descriptor().to_json()
    if tag:
        entry["annotations"] = {REF_NAME: tag}
    kept = [e for e in existing if not _same_slot(e, entry, tag)]
    return canonical_json(
        {"schemaVersion": 2, "mediaType": media_types.OCI_INDEX, "manifests": [*kept, entry]}
    )


def _same_slot(old: Mapping[str, Any], new: Mapping[str, Any], tag: str | None) -> bool:
    old_tag = (old.get("annotations") or {}).get(REF_NAME)
    if tag:
        return bool(old_tag == tag)
    return old_tag is None and old.get("digest") == new["digest"]


# Reading


def _is_layout(path: Path) -> bool:
    return (path / LAYOUT_FILE).is_file()


def _read_index_json(path: Path) -> dict[str, Any]:
    index_file = path / "index.json"
    try:
        doc = json.loads(index_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read {index_file}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests", []), list):
        raise FormatError(f"{index_file} is not an OCI image index")
    return doc


def _select(entries: list[Any], *, path: Path, tag: str | None) -> Mapping[str, Any]:
    tags = [(e.get("annotations") or {}).get(REF_NAME) for e in entries]
    if tag is not None:
        for entry, entry_tag in zip(entries, tags, strict=True):
            if entry_tag == tag:
                return dict(entry)
        known = ", ".join(sorted(t for t in tags if t)) or "none"
        raise TransportError(f"OCI layout {path} has no image tagged {tag!r} (tags: {known})")
    images = [e for e in entries if "artifactType" not in e]  # not SBOMs, signatures...
    if len(images) != 1:
        raise TransportError(f"OCI layout {path} holds {len(images)} images; name a tag")
    return dict(images[0])


def _descriptor(doc: Mapping[str, Any], *, where: str) -> Descriptor:
    try:
        platform = doc.get("platform")
        return Descriptor(
            media_type=str(doc["mediaType"]),
            digest=str(doc["digest"]),
            size=int(doc["size"]),
            annotations=dict(doc.get("annotations") or {}),
            platform=_platform(platform) if platform else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{where}: malformed descriptor {dict(doc)!r}") from exc


def _platform(doc: Mapping[str, Any]) -> Platform:
    return Platform(
        architecture=str(doc["architecture"]),
        os=str(doc.get("os", "linux")),
        variant=doc.get("variant") or None,
    )


def _blob_path(root: Path, descriptor: Descriptor) -> Path:
    return root / "blobs" / "sha256" / digest_hex(descriptor.digest)


def _read_blob(root: Path, descriptor: Descriptor) -> bytes:
    blob = _blob_path(root, descriptor)
    try:
        data = blob.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read blob {blob}: {exc}") from exc
    if len(data) != descriptor.size or sha256_digest(data) != descriptor.digest:
        raise IntegrityError(f"blob {blob} does not match its descriptor {descriptor.digest}")
    return data


def _read_json_blob(root: Path, descriptor: Descriptor) -> dict[str, Any]:
    doc = json.loads(_read_blob(root, descriptor))
    if not isinstance(doc, dict):
        raise FormatError(f"blob {descriptor.digest} in {root} is not a JSON object")
    return doc


def _read_index(root: Path, descriptor: Descriptor, *, full: bool) -> ImageIndex:
    doc = _read_json_blob(root, descriptor)
    images = tuple(
        _read_image(root, _descriptor(entry, where=descriptor.digest), full=full)
        for entry in doc.get("manifests", [])
    )
    return ImageIndex(images=images, annotations=dict(doc.get("annotations") or {}))


def _read_image(root: Path, descriptor: Descriptor, *, full: bool) -> Image:
    where = f"manifest {descriptor.digest} in {root}"
    manifest = _read_json_blob(root, descriptor)
    config_bytes = _read_blob(root, _descriptor(manifest.get("config") or {}, where=where))
    config = json.loads(config_bytes)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    layer_docs = list(manifest.get("layers") or [])
    if len(diff_ids) != len(layer_docs):
        raise FormatError(f"{where}: {len(layer_docs)} layers but {len(diff_ids)} diff_ids")
    read_layer = _read_layer if full else _read_layer_digest
    layers = tuple(
        read_layer(root, _descriptor(doc, where=where), diff_id)
        for doc, diff_id in zip(layer_docs, diff_ids, strict=True)
    )
    platform = descriptor.platform or _platform(config)
    return Image(
        config_bytes=config_bytes,
        layers=layers,
        platform=platform,
        annotations=dict(manifest.get("annotations") or {}),
    )


def _read_layer(root: Path, descriptor: Descriptor, diff_id: str) -> Layer:
    blob = _blob_path(root, descriptor)
    mismatch = f"layer blob {blob} does not match its descriptor {descriptor.digest}"
    try:
        digest, size, actual_diff_id, uncompressed = measure_blob(blob, descriptor.media_type)
    except FormatError as exc:
        if _file_digest(blob) != descriptor.digest:
            raise IntegrityError(mismatch) from exc
        raise
    if (digest, size) != (descriptor.digest, descriptor.size):
        raise IntegrityError(mismatch)
    if actual_diff_id != diff_id:
        raise IntegrityError(
            f"layer blob {blob} unpacks to {actual_diff_id}, the config says {diff_id}"
        )
    return Layer(
        digest=digest,
        size=size,
        diff_id=diff_id,
        uncompressed_size=uncompressed,
        path=blob,
        media_type=descriptor.media_type,
    )


def _read_layer_digest(root: Path, descriptor: Descriptor, diff_id: str) -> Layer:
    """The layer, checked by its compressed digest and size only."""
    blob = _blob_path(root, descriptor)
    try:
        size = blob.stat().st_size
    except OSError as exc:
        raise FormatError(f"cannot read layer blob {blob}: {exc}") from exc
    if size != descriptor.size or not _verified().matches(blob, descriptor.digest):
        raise IntegrityError(f"layer blob {blob} does not match its descriptor "
                             f"{descriptor.digest}")
    return Layer(digest=descriptor.digest, size=size, diff_id=diff_id,
                 uncompressed_size=size_hint(blob, descriptor.media_type, size),
                 path=blob, media_type=descriptor.media_type)


def _verified() -> VerifiedFiles:
    """Layout blobs hashed once and then trusted by their stat (see oci/verified.py)."""
    return VerifiedFiles(cache_root() / "verified-files")


def _file_digest(path: Path) -> str | None:
    try:
        return file_digest(path)
    except OSError:
        return None


def write_reference(artifact: Artifact, ref: Reference, *, progress: Progress = SILENT) -> None:
    """``oci:PATH[:TAG]``: see :func:`write`."""
    write(artifact, need_path(ref), tag=ref.tag)


def read_reference(ref: Reference, *, work_dir: Path, check_diff_ids: bool = True) -> Artifact:
    """``oci:PATH[:TAG]``: read where it is (``work_dir`` is not needed)."""
    return read(need_path(ref), tag=ref.tag, check_diff_ids=check_diff_ids)
