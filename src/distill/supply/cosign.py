"""cosign's storage format: ``.sig`` and ``.att`` images tagged after the signed digest.

cosign keeps the signatures of ``sha256:<hex>`` in the same repository under
tag ``sha256-<hex>.sig``: an image whose layers are "simple signing" payloads
(media type ``application/vnd.dev.cosign.simplesigning.v1+json``), each with
its base64 signature in the ``dev.cosignproject.cosign/signature`` annotation.
Attestations go under ``sha256-<hex>.att``: one DSSE envelope per layer, with
a ``predicateType`` annotation. New layers are appended to what is there, as
``cosign sign`` and ``cosign attest`` do.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ec

from distill.errors import IntegrityError
from distill.oci.model import canonical_json
from distill.supply import dsse, keys
from distill.supply.artifacts import Layer, layered_image, layers_of
from distill.supply.stores import Store, tag_schema_tag

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PREDICATE_ANNOTATION = "predicateType"
SIGNATURE_TYPE = "cosign container image signature"


def signature_tag(digest: str) -> str:
    """Where cosign looks for the signatures of ``digest``."""
    return tag_schema_tag(digest) + ".sig"


def attestation_tag(digest: str) -> str:
    """Where cosign looks for the attestations of ``digest``."""
    return tag_schema_tag(digest) + ".att"


def simple_signing_payload(name: str, digest: str) -> bytes:
    """The payload cosign signs for image ``name`` at ``digest`` (same key order as Go's)."""
    return canonical_json({
        "critical": {"identity": {"docker-reference": name},
                     "image": {"docker-manifest-digest": digest}, "type": SIGNATURE_TYPE},
        "optional": None,
    })


def signature_layer(payload: bytes, key: ec.EllipticCurvePrivateKey) -> Layer:
    """A ``.sig`` layer: ``payload`` and its signature by ``key``."""
    signature = base64.b64encode(keys.sign(key, payload)).decode()
    return Layer(SIMPLE_SIGNING, payload, {SIGNATURE_ANNOTATION: signature})


def attestation_layer(statement: bytes, *, predicate_type: str,
                      key: ec.EllipticCurvePrivateKey) -> Layer:
    """A ``.att`` layer: the statement in a DSSE envelope signed by ``key``."""
    return Layer(dsse.ENVELOPE_MEDIA_TYPE, dsse.seal(statement, key),
                 {PREDICATE_ANNOTATION: predicate_type, SIGNATURE_ANNOTATION: ""})


def signature_holds(layer: Layer, key: ec.EllipticCurvePublicKey) -> bool:
    """Whether ``layer`` of a ``.sig`` image is signed by ``key``."""
    encoded = layer.annotations.get(SIGNATURE_ANNOTATION, "")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except ValueError:
        return False
    return bool(signature) and keys.check(key, layer.data, signature)


def append_layers(store: Store, *, tag: str, layers: Sequence[Layer],
                  key: ec.EllipticCurvePublicKey) -> None:
    """Add ``layers`` to the image under ``tag`` (created if missing), skipping any
    whose payload is already there signed by ``key``."""
    found = store.manifest(tag)
    existing = layers_of(found.document, store.blob) if found is not None else []
    fresh = [layer for layer in layers
             if not any(_same_payload(layer, old, key) for old in existing)]
    if fresh:
        store.put(layered_image([*existing, *fresh]), tag=tag)


def _same_payload(new: Layer, old: Layer, key: ec.EllipticCurvePublicKey) -> bool:
    """An old layer with the same content signed by ``key`` (the signature bytes differ:
    ECDSA is randomised)."""
    if new.media_type != old.media_type:
        return False
    if new.media_type == SIMPLE_SIGNING:
        return new.data == old.data and signature_holds(old, key)
    if dsse.payload_of(new.data) != dsse.payload_of(old.data):
        return False
    try:
        dsse.open_envelope(old.data, key)
    except IntegrityError:
        return False
    return True
