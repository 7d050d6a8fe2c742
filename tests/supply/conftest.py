"""Fixtures of the supply-chain tests: signing keys, small images, a registry, cosign, oras.

The registry is the real CNCF docker-registry of tests/transports/registry;
cosign and oras are the static binaries of Debian trixie's packages, fetched
and verified by distill's own Debian client (:mod:`support.trixie_tools`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from distill.oci.model import Image
from support.trixie_tools import trixie_tool
from transports.conftest import build_image, write_layer
from transports.registry.conftest import (
    Registry,
    plain_registry,
    secure_registry,
    start_registry,
)

__all__ = ["plain_registry", "secure_registry", "start_registry"]

PASSWORD = "distill-test-password"


@dataclass(frozen=True)
class KeyPair:
    """A private key file and its public key file."""

    private: Path
    public: Path


def _tool(package: str) -> Path:
    path = trixie_tool(package, package)
    subprocess.run([str(path), "version"], capture_output=True, check=True)
    return path


@pytest.fixture(scope="session")
def cosign(host_mirror: str) -> Path:
    """cosign from trixie's ``cosign`` package (its ``version`` runs)."""
    return _tool("cosign")


@pytest.fixture(scope="session")
def oras(host_mirror: str) -> Path:
    """oras from trixie's ``oras`` package (its ``version`` runs)."""
    return _tool("oras")


@pytest.fixture(scope="session")
def pem_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """A plain PEM ECDSA P-256 key pair made with ``cryptography``."""
    folder = tmp_path_factory.mktemp("pem-keys")
    return write_pem_pair(folder)


def write_pem_pair(folder: Path) -> KeyPair:
    """A fresh P-256 key as ``key.pem`` (PKCS#8) and ``key.pub`` in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "key.pem", folder / "key.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return KeyPair(private=private, public=public)


@pytest.fixture(scope="session")
def cosign_keys(cosign: Path, tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """``cosign generate-key-pair`` output, encrypted with :data:`PASSWORD`."""
    folder = tmp_path_factory.mktemp("cosign-keys")
    subprocess.run([str(cosign), "generate-key-pair"], cwd=folder, check=True,
                   capture_output=True, env={**os.environ, "COSIGN_PASSWORD": PASSWORD})
    return KeyPair(private=folder / "cosign.key", public=folder / "cosign.pub")


@pytest.fixture
def small_image(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], Image]:
    """``small_image(text)``: a one-layer amd64 image unique to the test and ``text``."""
    def make(text: str = "") -> Image:
        layer = write_layer(tmp_path / "layers",
                            {"id": f"{request.node.nodeid}:{text}".encode()})
        return build_image((layer,))
    return make


@pytest.fixture
def registry(plain_registry: Registry) -> Registry:
    """The plain-HTTP registry on 127.0.0.1."""
    return plain_registry
