"""Signing keys: plain PEM ECDSA P-256 and cosign's encrypted format (scrypt + secretbox)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import nacl.secret
import nacl.utils
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from distill.errors import ConfigError, IntegrityError
from distill.supply import keys
from supply.conftest import PASSWORD, KeyPair, write_pem_pair


def _encrypted_key(path: Path, key: ec.EllipticCurvePrivateKey, password: bytes,
                   *, label: str = "ENCRYPTED SIGSTORE PRIVATE KEY") -> Path:
    """A key sealed as go-securesystemslib's ``encrypted`` package does (small scrypt N)."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt, nonce = os.urandom(32), nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    secret = Scrypt(salt=salt, length=32, n=1024, r=8, p=1).derive(password)
    sealed = nacl.secret.SecretBox(secret).encrypt(der, nonce).ciphertext
    document = {"kdf": {"name": "scrypt", "params": {"N": 1024, "r": 8, "p": 1},
                        "salt": base64.b64encode(salt).decode()},
                "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
                "ciphertext": base64.b64encode(sealed).decode()}
    body = base64.encodebytes(json.dumps(document).encode()).decode()
    path.write_text(f"-----BEGIN {label}-----\n{body}-----END {label}-----\n")
    return path


def test_a_plain_pem_key_signs_and_its_public_key_checks(tmp_path: Path) -> None:
    pair = write_pem_pair(tmp_path)
    private, public = keys.load_private_key(pair.private), keys.load_public_key(pair.public)
    signature = keys.sign(private, b"payload")
    assert keys.check(public, b"payload", signature)
    assert not keys.check(public, b"payload!", signature)


@pytest.mark.parametrize("label", keys.ENCRYPTED_TYPES)
def test_an_encrypted_key_opens_with_its_password_only(tmp_path: Path, label: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = _encrypted_key(tmp_path / "cosign.key", key, b"right", label=label)
    opened = keys.load_private_key(path, password="right")
    assert opened.private_numbers() == key.private_numbers()
    with pytest.raises(IntegrityError, match="wrong password"):
        keys.load_private_key(path, password="wrong")


def test_the_password_comes_from_cosign_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = _encrypted_key(tmp_path / "cosign.key", key, b"from-env")
    monkeypatch.setenv("COSIGN_PASSWORD", "from-env")
    assert keys.load_private_key(path).private_numbers() == key.private_numbers()


@pytest.mark.mirror
def test_a_key_cosign_generated_opens(cosign_keys: KeyPair) -> None:
    private = keys.load_private_key(cosign_keys.private, password=PASSWORD)
    public = keys.load_public_key(cosign_keys.public)
    assert keys.check(public, b"x", keys.sign(private, b"x"))


def test_other_keys_and_files_are_refused_with_the_reason(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_file = tmp_path / "rsa.pem"
    rsa_file.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    with pytest.raises(ConfigError, match="only ECDSA P-256"):
        keys.load_private_key(rsa_file)
    p384 = tmp_path / "p384.pem"
    p384.write_bytes(ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    with pytest.raises(ConfigError, match="only ECDSA P-256"):
        keys.load_private_key(p384)
    text = tmp_path / "note.txt"
    text.write_text("hello\n")
    with pytest.raises(ConfigError, match="not a PEM key"):
        keys.load_private_key(text)
    with pytest.raises(ConfigError, match="cannot read key"):
        keys.load_private_key(tmp_path / "absent.key")
    broken = tmp_path / "broken.key"
    broken.write_text("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n"
                      "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="corrupt encrypted key"):
        keys.load_private_key(broken, password="x")


def test_the_public_key_of_a_private_key_file_is_taken(tmp_path: Path) -> None:
    pair = write_pem_pair(tmp_path)
    assert keys.public_key_pem(keys.load_public_key(pair.private)) == pair.public.read_bytes()
