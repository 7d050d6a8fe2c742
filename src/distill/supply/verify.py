"""``distill verify``: an image's cosign signature (required), its attestations and referrers.

Every digest :func:`~distill.supply.signing.image_digests` names must carry a
simple-signing layer signed by the key whose payload names that digest. Every
attestation present must be signed by the key and name the digest it is
stored under; ``require_attestations`` also wants, for each image, the SBOMs
(SPDX and CycloneDX) and the SLSA provenance. Every referrer's blobs are
checked against their digests, and a signed provenance referrer against the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from distill.errors import IntegrityError
from distill.oci import media_types
from distill.supply import cosign, dsse, statements
from distill.supply.artifacts import Layer, layers_of
from distill.supply.signing import image_digests
from distill.supply.stores import Store, read_artifact_manifest, referrers

REQUIRED_PREDICATES = (statements.SPDX_PREDICATE, statements.CYCLONEDX_PREDICATE,
                       statements.SLSA_PREDICATE)


@dataclass(frozen=True)
class Verified:
    """What was checked for one digest."""

    digest: str
    signatures: int
    attestations: tuple[str, ...]
    """The predicate types of its attestations."""
    referrers: int


def verify_store(store: Store, key: ec.EllipticCurvePublicKey, *,
                 require_attestations: bool = False) -> list[Verified]:
    """Check the reference's signatures, attestations and referrers; raise
    :class:`IntegrityError` at the first mismatch or missing signature."""
    top = store.top()
    results = []
    for position, digest in enumerate(image_digests(store)):
        is_image = position > 0 or top.media_type in media_types.MANIFESTS
        signatures = _signatures(store, digest, key)
        types = _attestations(store, digest, key)
        if require_attestations and is_image:
            missing = [t for t in REQUIRED_PREDICATES if t not in types]
            if missing:
                raise IntegrityError(f"{store.name}@{digest} has no attestation of type "
                                     f"{missing[0]}")
        results.append(Verified(digest=digest, signatures=signatures,
                                attestations=tuple(types),
                                referrers=_referrers(store, digest, key)))
    return results


def _signatures(store: Store, digest: str, key: ec.EllipticCurvePublicKey) -> int:
    found = store.manifest(cosign.signature_tag(digest))
    if found is None:
        raise IntegrityError(f"{store.name}@{digest} is not signed (no "
                             f"{cosign.signature_tag(digest)})")
    good = [layer for layer in layers_of(found.document, store.blob)
            if cosign.signature_holds(layer, key) and _names(layer, digest)]
    if not good:
        raise IntegrityError(f"no signature of {store.name}@{digest} matches the key")
    return len(good)


def _names(layer: Layer, digest: str) -> bool:
    try:
        payload = json.loads(layer.data)
        return bool(payload["critical"]["image"]["docker-manifest-digest"] == digest)
    except (ValueError, KeyError, TypeError):
        return False


def _attestations(store: Store, digest: str, key: ec.EllipticCurvePublicKey) -> list[str]:
    found = store.manifest(cosign.attestation_tag(digest))
    if found is None:
        return []
    types = []
    for layer in layers_of(found.document, store.blob):
        claimed = layer.annotations.get(cosign.PREDICATE_ANNOTATION, "?")
        try:
            statement = dsse.open_envelope(layer.data, key)
        except IntegrityError as exc:
            raise IntegrityError(f"attestation {claimed} of {store.name}@{digest}: {exc}") \
                from exc
        if not statements.names_digest(statement, digest):
            raise IntegrityError(f"attestation {claimed} of {store.name}@{digest} is about "
                                 "another image")
        types.append(str(statement.get("predicateType")))
    return types


def _referrers(store: Store, digest: str, key: ec.EllipticCurvePublicKey) -> int:
    entries = referrers(store, digest)
    for entry in entries:
        document, layers = read_artifact_manifest(store, str(entry["digest"]))
        if (document.get("subject") or {}).get("digest") != digest:
            raise IntegrityError(f"referrer {entry['digest']} of {store.name}@{digest} "
                                 "names another subject")
        for layer in layers:
            if layer.media_type == dsse.ENVELOPE_MEDIA_TYPE:
                dsse.open_envelope(layer.data, key)
    return len(entries)
