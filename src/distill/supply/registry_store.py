"""A registry repository as a :class:`~distill.supply.stores.Store`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distill.errors import FormatError
from distill.oci import media_types
from distill.oci.reference import Reference
from distill.progress import SILENT
from distill.supply.artifacts import ArtifactManifest, Found
from distill.transports.registry import RegistryClient, RegistryOptions, split_name
from distill.transports.registry.client import Blob


class RegistryStore:
    """``HOST/REPO`` of a registry, through an open client."""

    def __init__(self, client: RegistryClient, repository: str, tag: str) -> None:
        self._client = client
        self._repository = repository
        self._tag = tag
        self.name = f"{client.host}/{repository}"

    @classmethod
    @contextmanager
    def open(cls, ref: Reference, *, options: RegistryOptions | None = None
             ) -> Iterator[RegistryStore]:
        """The store of ``docker://HOST/REPO[:TAG]`` (one client for every request)."""
        host, repository = split_name(ref.name or "")
        with RegistryClient(host, options=options) as client:
            yield cls(client, repository, ref.tag or "latest")

    def top(self) -> Found:
        """The manifest or index the reference's tag names."""
        media_type, data = self._client.get_manifest(self._repository, self._tag)
        return Found(media_type, data)

    def manifest(self, reference: str) -> Found | None:
        """A manifest by tag or digest, or None."""
        found = self._client.find_manifest(self._repository, reference)
        return Found(*found) if found is not None else None

    def blob(self, digest: str) -> bytes:
        """A small blob, checked against ``digest``."""
        return self._client.get_blob_bytes(self._repository, digest)

    def put(self, artifact: ArtifactManifest, *, tag: str | None) -> str | None:
        """Upload the blobs the registry lacks, then the manifest (by digest, or ``tag``)."""
        for digest, data in artifact.blobs.items():
            if not self._client.blob_exists(self._repository, digest):
                self._client.upload_blob(self._repository, Blob.of_bytes(data),
                                         SILENT.task("artifact", total=len(data)))
        return self._client.put_manifest(self._repository, tag or artifact.digest,
                                         artifact.manifest, media_types.OCI_MANIFEST)

    def put_index(self, data: bytes, *, tag: str) -> None:
        """Upload index ``data`` under ``tag``."""
        self._client.put_manifest(self._repository, tag, data, media_types.OCI_INDEX)

    def referrers_api(self, digest: str) -> list[dict[str, Any]] | None:
        """The referrers API's answer for ``digest``, or None when the registry has none."""
        data = self._client.referrers(self._repository, digest)
        if data is None:
            return None
        try:
            manifests: list[dict[str, Any]] = json.loads(data).get("manifests", [])
        except (ValueError, AttributeError) as exc:
            raise FormatError(f"{self.name}: the referrers of {digest} are not an index") \
                from exc
        return manifests
