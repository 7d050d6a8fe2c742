"""Signing keys as cosign writes them, and plain PEM ECDSA P-256 keys.

``cosign generate-key-pair`` writes ``cosign.key``: a PEM block ``ENCRYPTED
SIGSTORE PRIVATE KEY`` (``ENCRYPTED COSIGN PRIVATE KEY`` before cosign 2)
holding JSON in go-securesystemslib's ``encrypted`` format: the PKCS#8 key
sealed with NaCl secretbox under a scrypt-derived key. The password comes from
``COSIGN_PASSWORD``, as cosign reads it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from distill.errors import ConfigError, IntegrityError

ENCRYPTED_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
PASSWORD_VARIABLE = "COSIGN_PASSWORD"


def load_private_key(path: Path, *, password: str | None = None) -> ec.EllipticCurvePrivateKey:
    """The ECDSA P-256 key at ``path``: cosign's encrypted format or plain PEM.

    ``password`` defaults to ``$COSIGN_PASSWORD`` (empty when unset, as cosign).
    """
    text = _read(path)
    label = _pem_label(text, path)
    if label in ENCRYPTED_TYPES:
        secret = os.environ.get(PASSWORD_VARIABLE, "") if password is None else password
        der = _decrypt(_pem_body(text, label, path), secret.encode(), path)
        key = serialization.load_der_private_key(der, password=None)
    else:
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{path}: not a usable private key ({exc})") from exc
    return _p256(key, path)


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """The ECDSA P-256 public key in the PEM file at ``path`` (``cosign.pub``)."""
    text = _read(path)
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError:
        try:  # a private key also names its public half
            return load_private_key(path).public_key()
        except ConfigError:
            raise ConfigError(f"{path}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path}: only ECDSA P-256 keys are supported")
    return key


def public_key_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    """``key`` as a PEM ``PUBLIC KEY`` block, as cosign.pub holds it."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """An ASN.1 DER ECDSA signature of SHA-256(``data``), as cosign makes."""
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def check(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``data``."""
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read key {path}: {exc}") from exc


def _pem_label(text: str, path: Path) -> str:
    for line in text.splitlines():
        if line.startswith("-----BEGIN ") and line.endswith("-----"):
            return line[len("-----BEGIN "):-len("-----")]
    raise ConfigError(f"{path}: not a PEM key file")


def _pem_body(text: str, label: str, path: Path) -> bytes:
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    inside = text.partition(begin)[2].partition(end)[0]
    try:
        return base64.b64decode("".join(inside.split()), validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"{path}: corrupt PEM block") from exc


def _decrypt(sealed: bytes, password: bytes, path: Path) -> bytes:
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    try:
        document: dict[str, Any] = json.loads(sealed)
        kdf, cipher = document["kdf"], document["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "nacl/secretbox":
            raise ConfigError(f"{path}: unsupported key encryption {kdf['name']}/{cipher['name']}")
        params = kdf["params"]
        derived = Scrypt(salt=base64.b64decode(kdf["salt"]), length=32, n=int(params["N"]),
                         r=int(params["r"]), p=int(params["p"])).derive(password)
        return SecretBox(derived).decrypt(base64.b64decode(document["ciphertext"]),
                                          base64.b64decode(cipher["nonce"]))
    except CryptoError as exc:
        raise IntegrityError(f"{path}: wrong password (set {PASSWORD_VARIABLE})") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: corrupt encrypted key ({exc})") from exc


def _p256(key: object, path: Path) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path}: only ECDSA P-256 keys are supported")
    return key
