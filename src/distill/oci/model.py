"""Descriptors, layers, images and indexes.

An :class:`Image` is its exact config bytes plus its layers; the manifest is
derived from them, so digests stay stable when an image is read and written
again. A :class:`Layer` keeps the compressed digest (what registries and
manifests name) apart from the diff_id (the digest of the uncompressed tar,
what the config's rootfs names).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distill.errors import TransportError
from distill.oci import media_types
from distill.oci.digest import sha256_digest


def canonical_json(document: Any) -> bytes:
    """Serialize ``document`` deterministically: sorted keys, no spaces."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Platform:
    """The platform an image runs on."""

    architecture: str
    os: str = "linux"
    variant: str | None = None

    def to_json(self) -> dict[str, str]:
        """The platform object of an index entry."""
        doc = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            doc["variant"] = self.variant
        return doc

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Descriptor:
    """A reference to content by media type, digest and size."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None

    def to_json(self) -> dict[str, Any]:
        """The descriptor as it appears in manifests and indexes."""
        doc: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        if self.platform is not None:
            doc["platform"] = self.platform.to_json()
        return doc


@dataclass(frozen=True)
class Layer:
    """A compressed layer blob stored at ``path``."""

    digest: str
    """Digest of the compressed blob."""
    size: int
    """Size of the compressed blob in bytes."""
    diff_id: str
    """Digest of the uncompressed tar."""
    uncompressed_size: int
    path: Path
    media_type: str = media_types.OCI_LAYER_GZIP

    def descriptor(self) -> Descriptor:
        """The layer's descriptor in a manifest."""
        return Descriptor(self.media_type, self.digest, self.size)


@dataclass(frozen=True)
class Image:
    """One platform's image: config bytes, layers and manifest annotations."""

    config_bytes: bytes
    layers: tuple[Layer, ...]
    platform: Platform
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The parsed config document."""
        parsed: dict[str, Any] = json.loads(self.config_bytes)
        return parsed

    def config_descriptor(self) -> Descriptor:
        """Descriptor of the config blob."""
        return Descriptor(
            media_types.OCI_CONFIG, sha256_digest(self.config_bytes), len(self.config_bytes)
        )

    def manifest_bytes(self) -> bytes:
        """The OCI image manifest."""
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media_types.OCI_MANIFEST,
            "config": self.config_descriptor().to_json(),
            "layers": [layer.descriptor().to_json() for layer in self.layers],
        }
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        return canonical_json(doc)

    def manifest_descriptor(self) -> Descriptor:
        """Descriptor of the manifest, with the platform set (as index entries have)."""
        manifest = self.manifest_bytes()
        return Descriptor(
            media_types.OCI_MANIFEST, sha256_digest(manifest), len(manifest),
            platform=self.platform,
        )

    @property
    def digest(self) -> str:
        """The manifest digest, the image's identity in registries."""
        return sha256_digest(self.manifest_bytes())

    @property
    def compressed_size(self) -> int:
        """Bytes of all layers as stored."""
        return sum(layer.size for layer in self.layers)

    @property
    def uncompressed_size(self) -> int:
        """Bytes of all layers' tars."""
        return sum(layer.uncompressed_size for layer in self.layers)


@dataclass(frozen=True)
class ImageIndex:
    """Several platforms' images under one digest."""

    images: tuple[Image, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def index_bytes(self) -> bytes:
        """The OCI image index."""
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media_types.OCI_INDEX,
            "manifests": [image.manifest_descriptor().to_json() for image in self.images],
        }
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        return canonical_json(doc)

    @property
    def digest(self) -> str:
        """The index digest."""
        return sha256_digest(self.index_bytes())


Artifact = Image | ImageIndex
"""What a build produces and a transport writes."""


def image_for(artifact: Artifact, *, architecture: str) -> Image:
    """The image of ``artifact`` for ``architecture`` (a single image is returned as it is)."""
    if isinstance(artifact, Image):
        return artifact
    for image in artifact.images:
        if image.platform.architecture == architecture:
            return image
    available = ", ".join(sorted({i.platform.architecture for i in artifact.images})) or "none"
    raise TransportError(f"no image for {architecture} in the index (it has: {available})")
