"""An OCI layout folder as a :class:`~distill.supply.stores.Store`.

Artifacts go into ``blobs/`` and get an untagged entry in ``index.json``
(with their ``artifactType``); the layout indexes referrers by what it holds,
the way oras' ``--oci-layout`` store scans manifests for their ``subject``.
``index.json`` is replaced atomically, and only after the blobs are in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from distill.errors import FormatError, IntegrityError, TransportError
from distill.fsutil import atomic_write_bytes
from distill.oci import media_types
from distill.oci.digest import sha256_digest
from distill.oci.model import canonical_json
from distill.supply.artifacts import ArtifactManifest, Found

REF_NAME = "org.opencontainers.image.ref.name"


class LayoutStore:
    """The OCI layout at ``path``; ``tag`` picks the image (optional with one image)."""

    def __init__(self, path: Path, *, tag: str | None) -> None:
        self._path = path
        self._tag = tag
        self.name = path.name

    def top(self) -> Found:
        """The manifest or index ``tag`` names (or the only image)."""
        entries = self._entries()
        if self._tag is not None:
            chosen = [e for e in entries if (e.get("annotations") or {}).get(REF_NAME)
                      == self._tag]
        else:
            chosen = [e for e in entries if "artifactType" not in e]
        if len(chosen) != 1:
            raise TransportError(f"OCI layout {self._path}: no single image "
                                 f"{'tagged ' + repr(self._tag) if self._tag else ''}".strip())
        return Found(str(chosen[0]["mediaType"]), self.blob(str(chosen[0]["digest"])))

    def manifest(self, reference: str) -> Found | None:
        """A manifest by digest or tag, or None."""
        if not reference.startswith("sha256:"):
            tagged = [e for e in self._entries()
                      if (e.get("annotations") or {}).get(REF_NAME) == reference]
            if not tagged:
                return None
            reference = str(tagged[-1]["digest"])
        if not self._blob_path(reference).is_file():
            return None
        data = self.blob(reference)
        media_type = str(_parse(data, reference).get("mediaType", media_types.OCI_MANIFEST))
        return Found(media_type, data)

    def blob(self, digest: str) -> bytes:
        """A blob of the layout, checked against ``digest``."""
        try:
            data = self._blob_path(digest).read_bytes()
        except OSError as exc:
            raise FormatError(f"OCI layout {self._path}: blob {digest} is missing") from exc
        if sha256_digest(data) != digest:
            raise IntegrityError(f"OCI layout {self._path}: blob {digest} does not match")
        return data

    def put(self, artifact: ArtifactManifest, *, tag: str | None) -> str | None:
        """Write the blobs and manifest, then list it in ``index.json``."""
        for digest, data in {**artifact.blobs, artifact.digest: artifact.manifest}.items():
            if not self._blob_path(digest).is_file():
                atomic_write_bytes(self._blob_path(digest), data)
        entry = artifact.descriptor()
        if tag is not None:
            entry["annotations"] = {**entry.get("annotations", {}), REF_NAME: tag}
        self._add_entry(entry, tag)
        subject = artifact.document.get("subject")
        return str(subject["digest"]) if isinstance(subject, dict) else None

    def put_index(self, data: bytes, *, tag: str) -> None:
        """Write index ``data`` and tag it."""
        digest = sha256_digest(data)
        atomic_write_bytes(self._blob_path(digest), data)
        self._add_entry({"mediaType": media_types.OCI_INDEX, "digest": digest,
                         "size": len(data), "annotations": {REF_NAME: tag}}, tag)

    def referrers_api(self, digest: str) -> list[dict[str, Any]] | None:
        """The artifacts in ``index.json`` whose manifest's ``subject`` is ``digest``."""
        found = []
        for entry in self._entries():
            if "artifactType" not in entry or not self._blob_path(entry["digest"]).is_file():
                continue
            manifest = _parse(self.blob(entry["digest"]), entry["digest"])
            if (manifest.get("subject") or {}).get("digest") == digest:
                found.append({k: v for k, v in entry.items() if k != "platform"})
        return found

    def _entries(self) -> list[dict[str, Any]]:
        index = _parse(self._read_index(), f"{self._path}/index.json")
        manifests: list[dict[str, Any]] = index.get("manifests", [])
        return manifests

    def _read_index(self) -> bytes:
        try:
            return (self._path / "index.json").read_bytes()
        except OSError as exc:
            raise TransportError(f"{self._path} is not an OCI layout: {exc}") from exc

    def _add_entry(self, entry: dict[str, Any], tag: str | None) -> None:
        index = _parse(self._read_index(), f"{self._path}/index.json")
        kept = [e for e in index.get("manifests", [])
                if e.get("digest") != entry["digest"]
                and (tag is None or (e.get("annotations") or {}).get(REF_NAME) != tag)]
        index["manifests"] = [*kept, entry]
        atomic_write_bytes(self._path / "index.json", canonical_json(index))

    def _blob_path(self, digest: str) -> Path:
        algorithm, _, value = digest.partition(":")
        if algorithm != "sha256" or len(value) != 64 or not value.isalnum():
            raise FormatError(f"OCI layout {self._path}: bad digest {digest!r}")
        return self._path / "blobs" / algorithm / value


def _parse(data: bytes, where: str) -> dict[str, Any]:
    try:
        parsed: dict[str, Any] = json.loads(data)
    except ValueError as exc:
        raise FormatError(f"{where} is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise FormatError(f"{where} is not a JSON object")
    return parsed
