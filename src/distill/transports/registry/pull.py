"""Pulling an image or index from a registry into a work folder.

Every manifest, config and layer is checked against its digest; with
``check_diff_ids`` (the default) each layer is also unpacked once to check its
diff_id against the config and to learn its uncompressed size. A copy to
another registry or layout can skip that, as skopeo does: the compressed
digest already pins the content. Layers are downloaded several at a time.

Without ``fetch_layers`` only the manifests and configs are read: each layer
is a descriptor whose ``path`` (in ``work_dir``) does not exist and whose
uncompressed size is unknown (0). Such an image can be pushed to the same
registry only, where the push finds or mounts every layer (``distill rebase``
moves no layer bytes that way). A push to another repository of
that registry mounts such layers (``distill index``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distill.errors import FormatError, IntegrityError
from distill.oci import media_types
from distill.oci.blobs import size_hint, tar_digest
from distill.oci.digest import digest_hex
from distill.oci.model import Artifact, Image, ImageIndex, Layer, Platform
from distill.progress import SILENT, Progress
from distill.transports.registry import known
from distill.transports.registry.client import RegistryClient
from distill.transports.registry.options import RegistryOptions

if TYPE_CHECKING:
    from concurrent.futures import Future

_CHUNK = 1 << 20


def pull(
    *, host: str, repository: str, tag: str, work_dir: Path,
    options: RegistryOptions | None = None, progress: Progress = SILENT,
    check_diff_ids: bool = True, fetch_layers: bool = True, durable: bool = True,
) -> Artifact:
    """Read ``host/repository:tag`` (or ``@digest``: ``tag`` may be a digest); layer blobs
    land in ``work_dir/blobs/sha256``, flushed to disk unless not ``durable`` (a work
    folder or a new layout: see :mod:`.files`)."""
    with RegistryClient(host, options=options) as client:
        return pull_with(client, repository=repository, reference=tag, work_dir=work_dir,
                         progress=progress, check_diff_ids=check_diff_ids,
                         fetch_layers=fetch_layers, durable=durable)


def pull_with(
    client: RegistryClient, *, repository: str, reference: str, work_dir: Path,
    progress: Progress = SILENT, check_diff_ids: bool = True, fetch_layers: bool = True,
    durable: bool = True,
) -> Artifact:
    """Pull through an open ``client`` (layer blobs too unless ``fetch_layers`` is False)."""
    fetch = _Fetch(client=client, repository=repository, work_dir=work_dir, progress=progress,
                   full=check_diff_ids and fetch_layers, layers=fetch_layers, durable=durable)
    media_type, data = client.get_manifest(repository, reference)
    doc = _json(data, f"{client.host}/{repository}:{reference}")
    media_type = media_type if media_type in _KNOWN else str(doc.get("mediaType", ""))
    where = f"{client.host}/{repository}:{reference}"
    if media_type in media_types.INDEXES:
        images = tuple(
            _pull_image(fetch, str(entry["digest"]), platform=_platform(entry["platform"]))
            for entry in doc.get("manifests") or []
            if _runnable(entry)
        )
        if not images:
            raise FormatError(f"{where}: the index names no linux image")
        return ImageIndex(images=images, annotations=dict(doc.get("annotations") or {}))
    if media_type in media_types.MANIFESTS:
        return _image(fetch, doc, platform=None)
    raise FormatError(f"{where}: unsupported manifest media type {media_type!r}")


_KNOWN = media_types.INDEXES | media_types.MANIFESTS


def _runnable(entry: Mapping[str, Any]) -> bool:
    platform = entry.get("platform") or {}
    return bool(platform.get("architecture")) and platform.get("os") not in (None, "unknown")


def _platform(doc: Mapping[str, Any]) -> Platform:
    return Platform(architecture=str(doc["architecture"]), os=str(doc.get("os", "linux")),
                    variant=doc.get("variant") or None)


def _json(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise FormatError(f"{where}: the manifest is not JSON") from exc
    if not isinstance(doc, dict):
        raise FormatError(f"{where}: the manifest is not a JSON object")
    return doc


@dataclass(frozen=True, kw_only=True)
class _Fetch:
    """One pull: where from, where to, and how thoroughly layers are checked."""

    client: RegistryClient
    repository: str
    work_dir: Path
    progress: Progress
    full: bool
    layers: bool
    durable: bool


def _pull_image(fetch: _Fetch, digest: str, *, platform: Platform) -> Image:
    _, data = fetch.client.get_manifest(fetch.repository, digest)
    doc = _json(data, f"{fetch.client.host}/{fetch.repository}@{digest}")
    return _image(fetch, doc, platform=platform)


def _image(fetch: _Fetch, manifest: dict[str, Any], *, platform: Platform | None) -> Image:
    layer_docs = list(manifest.get("layers") or [])
    blobs = fetch.work_dir / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    from concurrent.futures import ThreadPoolExecutor  # not imported by a push

    with ThreadPoolExecutor(max_workers=fetch.client.options.parallel) as pool:
        try:
            # the manifest names the layers: they download while the config is read
            downloads = [pool.submit(_download, fetch, doc, blobs) for doc in layer_docs]
            config_bytes, config, diff_ids = _config(fetch, manifest, layers=len(layer_docs))
            # queued after every download, so no check waits for a download still queued
            layers = tuple(pool.map(
                lambda item: _layer(fetch, item[0], item[1], item[2], blobs),
                zip(layer_docs, diff_ids, downloads, strict=True),
            ))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return Image(
        config_bytes=config_bytes, layers=layers,
        platform=platform or _platform(config),
        annotations=dict(manifest.get("annotations") or {}),
    )


def _config(fetch: _Fetch, manifest: Mapping[str, Any], *, layers: int
            ) -> tuple[bytes, dict[str, Any], list[str]]:
    """The config's bytes, document and diff_ids (as many as the manifest has layers)."""
    client, repository = fetch.client, fetch.repository
    where = f"{client.host}/{repository}"
    digest = str(manifest["config"]["digest"])
    config_bytes = client.get_blob_bytes(repository, digest)
    known.remember(client.host, repository, digest)
    config = _json(config_bytes, f"config of {where}")
    diff_ids = [str(d) for d in (config.get("rootfs") or {}).get("diff_ids") or []]
    if len(diff_ids) != layers:
        raise FormatError(f"{where}: {layers} layers but {len(diff_ids)} diff_ids")
    return config_bytes, config, diff_ids


def _download(fetch: _Fetch, doc: Mapping[str, Any], blobs: Path) -> None:
    """Fetch a layer blob into ``blobs`` (unless only manifests are read), digest checked."""
    client, repository = fetch.client, fetch.repository
    digest, size = str(doc["digest"]), int(doc["size"])
    target = blobs / digest_hex(digest)
    if fetch.layers and (not target.exists() or target.stat().st_size != size):
        task = fetch.progress.task(f"pull {digest[7:19]}", total=size)
        client.download_blob(repository, digest, size, target, task, durable=fetch.durable)
        task.finish()
    known.remember(client.host, repository, digest)  # without layers: the manifest names it


def _layer(fetch: _Fetch, doc: Mapping[str, Any], diff_id: str, download: Future[None],
           blobs: Path) -> Layer:
    download.result()
    client, repository = fetch.client, fetch.repository
    digest, size = str(doc["digest"]), int(doc["size"])
    media_type = str(doc.get("mediaType") or media_types.OCI_LAYER_GZIP)
    target = blobs / digest_hex(digest)
    if not fetch.layers:
        return Layer(digest=digest, size=size, diff_id=diff_id, uncompressed_size=0,
                     path=target, media_type=media_type)
    if not fetch.full:
        return Layer(digest=digest, size=size, diff_id=diff_id,
                     uncompressed_size=size_hint(target, media_type, size), path=target,
                     media_type=media_type)
    actual, uncompressed = tar_digest(target, media_type)
    if actual != diff_id:
        raise IntegrityError(f"layer {digest} of {client.host}/{repository} unpacks to "
                             f"{actual}, its config says {diff_id}")
    return Layer(digest=digest, size=size, diff_id=diff_id, uncompressed_size=uncompressed,
                 path=target, media_type=media_type)


