"""Pushing an image or index to a registry.

Order makes an interrupted push harmless: every blob first (several at once;
those the registry has are skipped after a HEAD, those another repository of
the registry holds are mounted; a layer read without its bytes must be one of
those), then each child manifest by digest, and the
tag last, so the tag moves only when everything it names is there. An image
whose tag already points at the same digest costs one HEAD request.
"""

from __future__ import annotations

from collections.abc import Iterator

from distill.errors import TransportError
from distill.oci import media_types
from distill.oci.digest import sha256_digest
from distill.oci.model import Artifact, Image, ImageIndex
from distill.progress import SILENT, Progress
from distill.transports.registry import known
from distill.transports.registry.client import Blob, RegistryClient
from distill.transports.registry.options import RegistryOptions


def push(
    artifact: Artifact, *, host: str, repository: str, tag: str,
    options: RegistryOptions | None = None, progress: Progress = SILENT,
) -> str:
    """Push ``artifact`` to ``host/repository:tag``; return the pushed digest."""
    with RegistryClient(host, options=options) as client:
        return push_with(client, artifact, repository=repository, tag=tag, progress=progress)


def push_with(
    client: RegistryClient, artifact: Artifact, *, repository: str, tag: str,
    progress: Progress = SILENT,
) -> str:
    """Push through an open ``client`` (so callers can count its requests)."""
    top, top_type = _top_document(artifact)
    digest = sha256_digest(top)
    if client.manifest_digest(repository, tag) == digest:
        return digest
    _push_blobs(client, repository, list(_blobs(artifact)), progress)
    if isinstance(artifact, ImageIndex):
        for image in artifact.images:
            if client.manifest_digest(repository, image.digest) is None:
                client.put_manifest(repository, image.digest, image.manifest_bytes(),
                                    media_types.OCI_MANIFEST)
    client.put_manifest(repository, tag, top, top_type)
    return digest


def _top_document(artifact: Artifact) -> tuple[bytes, str]:
    if isinstance(artifact, ImageIndex):
        return artifact.index_bytes(), media_types.OCI_INDEX
    return artifact.manifest_bytes(), media_types.OCI_MANIFEST


def _images(artifact: Artifact) -> tuple[Image, ...]:
    return artifact.images if isinstance(artifact, ImageIndex) else (artifact,)


def _blobs(artifact: Artifact) -> Iterator[Blob]:
    """Every layer and config blob once, largest first so big uploads start early."""
    found: dict[str, Blob] = {}
    for image in _images(artifact):
        for layer in image.layers:
            found.setdefault(layer.digest, Blob(digest=layer.digest, size=layer.size,
                                                path=layer.path))
        config = Blob.of_bytes(image.config_bytes)
        found.setdefault(config.digest, config)
    yield from sorted(found.values(), key=lambda blob: -blob.size)


def _push_blobs(client: RegistryClient, repository: str, blobs: list[Blob],
                progress: Progress) -> None:
    # a re-push of an unchanged image ends before any blob: it does not import threads
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=client.options.parallel) as pool:
        futures = [pool.submit(_ensure_blob, client, repository, blob, progress)
                   for blob in blobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            future.result()


def _ensure_blob(client: RegistryClient, repository: str, blob: Blob, progress: Progress) -> None:
    if client.blob_exists(repository, blob.digest):
        known.remember(client.host, repository, blob.digest)
        return
    sources = [r for r in known.repositories_with(client.host, blob.digest) if r != repository]
    if blob.path is not None and not sources and not blob.path.exists():
        raise TransportError(f"blob {blob.digest} was read from a registry without its bytes "
                             f"and {client.host}/{repository} does not have it")
    task = progress.task(f"push {blob.digest[7:19]}", total=blob.size)
    client.upload_blob(repository, blob, task, mount_from=sources[-1] if sources else None)
    task.finish()
    known.remember(client.host, repository, blob.digest)
