"""DSSE envelopes: the pre-authentication encoding, sealing and opening."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from distill.errors import IntegrityError
from distill.supply import dsse

KEY = ec.generate_private_key(ec.SECP256R1())


def test_pae_matches_the_specification_example() -> None:
    # The DSSE protocol document's own example.
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_a_sealed_statement_opens_with_the_key() -> None:
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1"}).encode()
    envelope = dsse.seal(statement, KEY)
    assert json.loads(envelope)["payloadType"] == dsse.IN_TOTO_PAYLOAD
    assert dsse.open_envelope(envelope, KEY.public_key()) == json.loads(statement)
    assert dsse.payload_of(envelope) == statement


def test_another_key_or_a_changed_payload_is_refused() -> None:
    envelope = json.loads(dsse.seal(b'{"a": 1}', KEY))
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(IntegrityError, match="does not match the key"):
        dsse.open_envelope(json.dumps(envelope).encode(), other)
    envelope["payload"] = base64.b64encode(b'{"a": 2}').decode()
    with pytest.raises(IntegrityError, match="does not match the key"):
        dsse.open_envelope(json.dumps(envelope).encode(), KEY.public_key())
    with pytest.raises(IntegrityError, match="not a DSSE envelope"):
        dsse.open_envelope(b"[]", KEY.public_key())
    assert dsse.payload_of(b"not json") is None
