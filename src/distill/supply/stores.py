"""Where an image's artifacts go: a registry repository or an OCI layout folder.

Both answer the same questions (:class:`Store`): put a small manifest and its
blobs, read one back by tag or digest, and attach or list referrers. A
registry with the referrers API indexes a manifest's ``subject`` itself (it
answers the push with ``OCI-Subject``); otherwise distill keeps the
distribution-spec's referrers tag schema: an index tagged ``sha256-<hex>``
that lists every referrer of that digest. An OCI layout lists its artifacts
in ``index.json``, untagged, where oras finds them by scanning manifests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from distill.errors import ConfigError, FormatError
from distill.oci import media_types
from distill.oci.model import canonical_json
from distill.oci.reference import DOCKER, OCI, Reference
from distill.supply.artifacts import ArtifactManifest, Found, layers_of
from distill.supply.layout_store import LayoutStore

if TYPE_CHECKING:
    from distill.transports.registry import RegistryOptions


class Store(Protocol):
    """A place that holds an image and the artifacts about it."""

    name: str
    """The image's name (``HOST/REPO``, or the layout's folder) for statements and payloads."""

    def top(self) -> Found:
        """The manifest or index the reference names."""

    def manifest(self, reference: str) -> Found | None:
        """A manifest by tag or digest, or None."""

    def blob(self, digest: str) -> bytes:
        """A small blob, checked against ``digest``."""

    def put(self, artifact: ArtifactManifest, *, tag: str | None) -> str | None:
        """Store ``artifact``'s blobs and manifest (under ``tag`` if given); return the
        registry's ``OCI-Subject`` answer, if any."""

    def put_index(self, data: bytes, *, tag: str) -> None:
        """Store index ``data`` under ``tag``."""

    def referrers_api(self, digest: str) -> list[dict[str, Any]] | None:
        """The referrers of ``digest`` as the store indexes them, or None when it does not."""


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def checked_digest(value: object, *, where: str) -> str:
    """``value`` if it is a SHA-256 digest; a registry's or layout's word is not trusted."""
    if not isinstance(value, str) or not _DIGEST.match(value):
        raise FormatError(f"{where}: {str(value)[:80]!r} is not a sha256 digest")
    return value


def tag_schema_tag(digest: str) -> str:
    """The referrers tag schema's (and cosign's) tag for ``digest``: ``sha256-<hex>``."""
    return digest.replace(":", "-")


def attach(store: Store, artifact: ArtifactManifest) -> None:
    """Store ``artifact`` and make it a referrer of its ``subject``."""
    subject = artifact.document["subject"]["digest"]
    if store.put(artifact, tag=None) == subject:
        return  # the registry indexed it
    tag = tag_schema_tag(subject)
    found = store.manifest(tag)
    entries = list(found.document.get("manifests", [])) if found is not None else []
    if any(entry.get("digest") == artifact.digest for entry in entries):
        return
    entries.append(artifact.descriptor())
    store.put_index(canonical_json({"schemaVersion": 2, "mediaType": media_types.OCI_INDEX,
                                    "manifests": entries}), tag=tag)


def referrers(store: Store, digest: str, *, artifact_type: str | None = None
              ) -> list[dict[str, Any]]:
    """The referrer descriptors of ``digest``: from the API, else from the tag schema."""
    entries = store.referrers_api(digest)
    if entries is None:
        found = store.manifest(tag_schema_tag(digest))
        entries = list(found.document.get("manifests", [])) if found is not None else []
    return [entry for entry in entries
            if artifact_type is None or entry.get("artifactType") == artifact_type]


def read_artifact_manifest(store: Store, digest: str) -> tuple[dict[str, Any], list[Any]]:
    """The manifest ``digest`` parsed, and its layers with their bytes."""
    found = store.manifest(checked_digest(digest, where=store.name))
    if found is None:
        raise FormatError(f"{store.name}: manifest {digest} is missing")
    document = found.document
    return document, layers_of(document, store.blob)


@contextmanager
def open_store(ref: Reference, *, options: RegistryOptions | None = None) -> Iterator[Store]:
    """The store of ``ref``: a registry repository (``docker://``, reached with ``options``,
    default the environment's) or a layout (``oci:``)."""
    if ref.transport == OCI and ref.path is not None:
        yield LayoutStore(ref.path, tag=ref.tag)
        return
    if ref.transport != DOCKER:
        raise ConfigError(f"{ref}: signatures and referrers live in registries (docker://) "
                          "and OCI layouts (oci:), not in this transport")
    from distill.supply.registry_store import RegistryStore

    with RegistryStore.open(ref, options=options) as store:
        yield store
