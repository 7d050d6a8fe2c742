"""Publishing what a build knows about its images: SBOM and provenance referrers,
cosign signatures and attestations.

:func:`publish` is what ``distill build`` calls for each registry or layout
output; :func:`sign_store` is ``distill sign``: it signs the reference's
manifest or index and every image an index names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from distill.errors import FormatError
from distill.oci import media_types
from distill.oci.digest import sha256_digest
from distill.sbom import Document
from distill.supply import cosign, dsse, statements
from distill.supply.artifacts import Layer, created_annotation, referrer
from distill.supply.stores import Store, attach, checked_digest

PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type"


@dataclass(frozen=True)
class ImageFacts:
    """One platform image of a build and what to say about it."""

    digest: str
    size: int
    """Size of its manifest."""
    documents: Sequence[Document] = ()
    """Its SBOMs."""
    provenance: object = None
    """Its SLSA provenance predicate (JSON-able), if any."""


@dataclass(frozen=True)
class Signed:
    """What :func:`sign_store` or :func:`publish` signed and attested."""

    signed: tuple[str, ...]
    attested: tuple[tuple[str, str], ...] = ()
    """(digest, predicate type) pairs."""


def publish(store: Store, images: Sequence[ImageFacts], *, epoch: int,
            key: ec.EllipticCurvePrivateKey | None = None) -> Signed:
    """Attach every image's SBOMs and provenance as referrers; with ``key``, also sign the
    reference (and each image of an index) and attest the SBOMs and provenance."""
    annotations = created_annotation(epoch)
    attested: list[tuple[str, str]] = []
    for image in images:
        subject = {"mediaType": media_types.OCI_MANIFEST, "digest": image.digest,
                   "size": image.size}
        claims = _claims(store.name, image)
        for document in image.documents:
            attach(store, referrer(subject=subject, artifact_type=document.media_type,
                                   layer=Layer(document.media_type, document.data),
                                   annotations=annotations))
        if image.provenance is not None:
            statement = claims[-1][1]
            layer = (Layer(dsse.ENVELOPE_MEDIA_TYPE, dsse.seal(statement, key)) if key
                     else Layer(dsse.IN_TOTO_PAYLOAD, statement))
            attach(store, referrer(
                subject=subject, artifact_type=layer.media_type, layer=layer,
                annotations={**annotations,
                             PREDICATE_TYPE_ANNOTATION: statements.SLSA_PREDICATE}))
        if key is not None and claims:
            cosign.append_layers(
                store, tag=cosign.attestation_tag(image.digest), key=key.public_key(),
                layers=[cosign.attestation_layer(s, predicate_type=t, key=key)
                        for t, s in claims])
            attested += [(image.digest, t) for t, _ in claims]
    signed = sign_store(store, key).signed if key is not None else ()
    return Signed(signed=signed, attested=tuple(attested))


def sign_store(store: Store, key: ec.EllipticCurvePrivateKey) -> Signed:
    """Sign the manifest or index the store's reference names, and every image in an index."""
    digests = image_digests(store)
    for digest in digests:
        payload = cosign.simple_signing_payload(store.name, digest)
        cosign.append_layers(store, tag=cosign.signature_tag(digest), key=key.public_key(),
                             layers=[cosign.signature_layer(payload, key)])
    return Signed(signed=tuple(digests))


def image_digests(store: Store) -> list[str]:
    """The reference's digest, then (for an index) each manifest's in it."""
    top = store.top()
    digests = [sha256_digest(top.data)]
    if top.media_type in media_types.INDEXES:
        try:
            digests += [checked_digest(entry["digest"], where=f"{store.name} index")
                        for entry in top.document["manifests"]]
        except (KeyError, TypeError) as exc:
            raise FormatError(f"{store.name}: the index lists no manifests") from exc
    return digests


def _claims(name: str, image: ImageFacts) -> list[tuple[str, bytes]]:
    """(predicate type, statement) for each SBOM, then the provenance, about ``image``."""
    subjects = [statements.subject(name, image.digest)]
    claims = [(statements.PREDICATE_BY_MEDIA_TYPE[d.media_type],
               statements.statement(subjects=subjects,
                                    predicate_type=statements.PREDICATE_BY_MEDIA_TYPE[
                                        d.media_type],
                                    predicate=json.loads(d.data)))
              for d in image.documents if d.media_type in statements.PREDICATE_BY_MEDIA_TYPE]
    if image.provenance is not None:
        claims.append((statements.SLSA_PREDICATE, statements.statement(
            subjects=subjects, predicate_type=statements.SLSA_PREDICATE,
            predicate=image.provenance)))
    return claims
