"""Small OCI manifests that describe an image: referrers, cosign signatures, attestations.

An :class:`ArtifactManifest` is its manifest bytes plus the blobs it names,
all small enough to keep in memory. :func:`referrer` makes an OCI 1.1 artifact
(image-spec "Guidelines for Artifact Usage": the empty config, one layer, an
``artifactType`` and a ``subject``); :func:`layered_image` makes the plain
image cosign stores its signatures and attestations in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from distill.errors import FormatError
from distill.oci import media_types
from distill.oci.digest import sha256_digest
from distill.oci.model import canonical_json

EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
CREATED = "org.opencontainers.image.created"


@dataclass(frozen=True)
class Layer:
    """One blob of an artifact: its media type, bytes and descriptor annotations."""

    media_type: str
    data: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    def descriptor(self) -> dict[str, Any]:
        """The layer's descriptor in a manifest."""
        doc: dict[str, Any] = {"mediaType": self.media_type, "digest": sha256_digest(self.data),
                               "size": len(self.data)}
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        return doc


@dataclass(frozen=True)
class ArtifactManifest:
    """An OCI image manifest and every blob it names."""

    manifest: bytes
    blobs: Mapping[str, bytes]
    """digest -> bytes: the config and each layer."""

    @property
    def digest(self) -> str:
        """The manifest's digest."""
        return sha256_digest(self.manifest)

    @property
    def document(self) -> dict[str, Any]:
        """The parsed manifest."""
        parsed: dict[str, Any] = json.loads(self.manifest)
        return parsed

    def descriptor(self) -> dict[str, Any]:
        """The manifest's descriptor as a referrers index lists it (artifactType, annotations)."""
        doc: dict[str, Any] = {"mediaType": media_types.OCI_MANIFEST, "digest": self.digest,
                               "size": len(self.manifest)}
        document = self.document
        for key in ("artifactType", "annotations"):
            if key in document:
                doc[key] = document[key]
        return doc

@dataclass(frozen=True)
class Found:
    """A manifest or index read back: media type and bytes."""

    media_type: str
    data: bytes

    @property
    def document(self) -> dict[str, Any]:
        """The parsed JSON."""
        try:
            parsed: dict[str, Any] = json.loads(self.data)
        except ValueError as exc:
            raise FormatError(f"a manifest is not JSON: {exc}") from exc
        return parsed



def created_annotation(epoch: int) -> dict[str, str]:
    """``org.opencontainers.image.created`` for ``epoch`` (SOURCE_DATE_EPOCH)."""
    return {CREATED: datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def referrer(
    *, subject: Mapping[str, Any], artifact_type: str, layer: Layer,
    annotations: Mapping[str, str],
) -> ArtifactManifest:
    """An OCI 1.1 artifact about ``subject`` (a manifest descriptor): the empty config,
    one layer, ``artifactType`` and ``annotations``."""
    empty = Layer(EMPTY_MEDIA_TYPE, EMPTY_CONFIG)
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_types.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": empty.descriptor(),
        "layers": [layer.descriptor()],
        "subject": {key: subject[key] for key in ("mediaType", "digest", "size")},
        "annotations": dict(annotations),
    }
    return ArtifactManifest(manifest=canonical_json(doc),
                            blobs={sha256_digest(EMPTY_CONFIG): EMPTY_CONFIG,
                                   sha256_digest(layer.data): layer.data})


def layered_image(layers: Sequence[Layer]) -> ArtifactManifest:
    """The image cosign keeps signatures or attestations in: an OCI config naming each
    layer (layers are stored uncompressed, so diff_id = digest) and the layers."""
    config = canonical_json({
        "architecture": "", "os": "", "created": "0001-01-01T00:00:00Z", "config": {},
        "rootfs": {"type": "layers",
                   "diff_ids": [sha256_digest(layer.data) for layer in layers]},
    })
    doc = {
        "schemaVersion": 2,
        "mediaType": media_types.OCI_MANIFEST,
        "config": {"mediaType": media_types.OCI_CONFIG, "digest": sha256_digest(config),
                   "size": len(config)},
        "layers": [layer.descriptor() for layer in layers],
    }
    blobs = {sha256_digest(config): config}
    blobs.update({sha256_digest(layer.data): layer.data for layer in layers})
    return ArtifactManifest(manifest=canonical_json(doc), blobs=blobs)


def layers_of(manifest: Mapping[str, Any], blob: Any) -> list[Layer]:
    """The layers of a parsed ``manifest``, their bytes read with ``blob(digest)``."""
    return [Layer(entry["mediaType"], blob(entry["digest"]), entry.get("annotations", {}))
            for entry in manifest.get("layers", [])]
