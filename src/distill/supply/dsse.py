"""DSSE envelopes (the in-toto attestation wrapper cosign uses) signed with ECDSA P-256."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from distill.errors import IntegrityError
from distill.supply import keys

ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def seal(payload: bytes, key: ec.EllipticCurvePrivateKey, *,
         payload_type: str = IN_TOTO_PAYLOAD) -> bytes:
    """A DSSE envelope of ``payload`` with one signature by ``key``."""
    signature = keys.sign(key, pae(payload_type, payload))
    return json.dumps({
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
    }, separators=(",", ":")).encode()


def open_envelope(data: bytes, key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The in-toto statement of envelope ``data`` if one of its signatures is ``key``'s;
    raise :class:`IntegrityError` otherwise."""
    try:
        envelope = json.loads(data)
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = [base64.b64decode(s["sig"]) for s in envelope["signatures"]]
        payload_type = str(envelope["payloadType"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise IntegrityError(f"not a DSSE envelope: {exc}") from exc
    if not any(keys.check(key, pae(payload_type, payload), sig) for sig in signatures):
        raise IntegrityError("the attestation's signature does not match the key")
    try:
        statement: dict[str, Any] = json.loads(payload)
    except ValueError as exc:
        raise IntegrityError("the attestation's payload is not JSON") from exc
    return statement


def payload_of(data: bytes) -> bytes | None:
    """The payload of envelope ``data`` (unchecked), or None if it is not an envelope."""
    try:
        return base64.b64decode(json.loads(data)["payload"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
