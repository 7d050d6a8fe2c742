"""Tests of distill.rootfs.java_keystore with the real Java: keytool and a TrustManagerFactory."""

from __future__ import annotations

import hashlib
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from distill.errors import FormatError
from distill.rootfs.java_keystore import (
    JAVA_CACERTS_PATH,
    add_java_cacerts,
    debian_alias,
    java_cacerts,
)
from distill.rootfs.tree import FileTree
from support.tls import make_test_ca

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SYSTEM_CERTS = Path("/etc/ssl/certs")
HOST_CACERTS = Path("/etc/ssl/certs/java/cacerts")
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", re.DOTALL)

TRUST_PROGRAM = """
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

public class Trust {
    public static void main(String[] args) throws Exception {
        // null: the default trust store, i.e. -Djavax.net.ssl.trustStore
        TrustManagerFactory factory =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init((KeyStore) null);
        for (TrustManager manager : factory.getTrustManagers()) {
            if (manager instanceof X509TrustManager) {
                for (X509Certificate cert : ((X509TrustManager) manager).getAcceptedIssuers()) {
                    byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
                    StringBuilder hex = new StringBuilder();
                    for (byte b : digest) hex.append(String.format("%02x", b));
                    System.out.println(hex);
                }
            }
        }
    }
}
"""


def pem_blocks(bundle: bytes) -> list[bytes]:
    """The PEM certificates of a bundle."""
    return [m.group(0) for m in _PEM.finditer(bundle)]


def fingerprints(bundle: bytes) -> set[str]:
    """SHA-256 (hex) of every certificate of a PEM bundle."""
    return {
        hashlib.sha256(ssl.PEM_cert_to_DER_cert(block.decode())).hexdigest()
        for block in pem_blocks(bundle)
    }


def keytool_list(store: Path, *, password: str = "changeit") -> dict[str, str]:
    """alias -> SHA-256 fingerprint (hex) of every entry ``keytool -list`` shows."""
    result = subprocess.run(
        ["keytool", "-list", "-keystore", str(store), "-storepass", password],
        capture_output=True, text=True, check=True,
    )
    entries: dict[str, str] = {}
    alias = None
    for line in result.stdout.splitlines():
        if "trustedCertEntry" in line:
            alias = line.split(",", 1)[0]
        elif line.startswith("Certificate fingerprint (SHA-256):") and alias is not None:
            entries[alias] = line.split(":", 1)[1].strip().replace(":", "").lower()
            alias = None
    return entries


@pytest.fixture(scope="session")
def system_bundle() -> bytes:
    """The host's CA bundle."""
    if not SYSTEM_BUNDLE.is_file():
        pytest.skip(f"{SYSTEM_BUNDLE} is missing")
    return SYSTEM_BUNDLE.read_bytes()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A fresh self-signed CA certificate (PEM), made with openssl."""
    return make_test_ca(tmp_path_factory.mktemp("ca")).ca.read_bytes()


@pytest.fixture(scope="session")
def trust_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding Trust.class, compiled with javac."""
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("javac is not installed")
    folder = tmp_path_factory.mktemp("java")
    (folder / "Trust.java").write_text(TRUST_PROGRAM, encoding="utf-8")
    subprocess.run([javac, "Trust.java"], cwd=folder, capture_output=True, check=True)
    return folder


def accepted_issuers(program: Path, store: Path, *, password: str = "changeit") -> list[str]:
    """SHA-256 fingerprints of the issuers Java's default TrustManager accepts from ``store``."""
    result = subprocess.run(
        ["java", f"-Djavax.net.ssl.trustStore={store}",
         f"-Djavax.net.ssl.trustStorePassword={password}", "-cp", str(program), "Trust"],
        capture_output=True, text=True, check=True,
    )
    return result.stdout.split()


# --- with the real Java ----------------------------------------------------


@pytest.mark.tools("keytool")
def test_keytool_lists_every_certificate_of_the_bundle(
    system_bundle: bytes, tmp_path: Path
) -> None:
    store = tmp_path / "cacerts"
    store.write_bytes(java_cacerts(system_bundle))
    listed = keytool_list(store)
    assert set(listed.values()) == fingerprints(system_bundle)
    assert all(alias == f"sha256:{fp}" for alias, fp in listed.items())


@pytest.mark.tools("java", "javac")
def test_java_trusts_exactly_the_bundle(
    system_bundle: bytes, trust_program: Path, tmp_path: Path
) -> None:
    store = tmp_path / "cacerts"
    store.write_bytes(java_cacerts(system_bundle))
    issuers = accepted_issuers(trust_program, store)
    assert len(issuers) == len(fingerprints(system_bundle))
    assert set(issuers) == fingerprints(system_bundle)


@pytest.mark.tools("java", "javac", "keytool")
def test_an_added_certificate_is_trusted(
    system_bundle: bytes, test_ca: bytes, trust_program: Path, tmp_path: Path
) -> None:
    store = tmp_path / "cacerts"
    store.write_bytes(java_cacerts(system_bundle + test_ca))
    (added,) = fingerprints(test_ca)
    assert added not in fingerprints(system_bundle)
    assert added in keytool_list(store).values()
    assert added in accepted_issuers(trust_program, store)


@pytest.mark.tools("keytool")
def test_debian_aliases_match_ca_certificates_java(tmp_path: Path) -> None:
    """Built from /etc/ssl/certs/*.pem, the store lists what ca-certificates-java made."""
    if not HOST_CACERTS.is_file():
        pytest.skip(f"{HOST_CACERTS} is missing (ca-certificates-java is not installed)")
    pairs = [(debian_alias(path.name), path.read_bytes())
             for path in sorted(SYSTEM_CERTS.glob("*.pem"))]
    store = tmp_path / "cacerts"
    store.write_bytes(java_cacerts(pairs))
    ours, debians = keytool_list(store), keytool_list(HOST_CACERTS)
    # Entries imported by hand into the host's store have other aliases; compare the rest.
    assert set(ours.values()) == set(debians.values())
    from_package = {a: f for a, f in debians.items() if a.startswith("debian:")}
    assert len(from_package) > 100
    assert from_package.items() <= ours.items()


@pytest.mark.tools("keytool", "java", "javac")
def test_another_password(system_bundle: bytes, trust_program: Path, tmp_path: Path) -> None:
    store = tmp_path / "cacerts"
    store.write_bytes(java_cacerts(system_bundle, password="s3cr\u00e9t"))
    assert len(keytool_list(store, password="s3cr\u00e9t")) == len(fingerprints(system_bundle))
    refused = subprocess.run(
        ["keytool", "-list", "-keystore", str(store), "-storepass", "changeit"],
        capture_output=True, text=True, check=False,
    )
    assert refused.returncode != 0 and "password was incorrect" in refused.stdout + refused.stderr


# --- format and determinism ------------------------------------------------


def test_output_depends_on_the_certificates_only(system_bundle: bytes) -> None:
    blocks = pem_blocks(system_bundle)
    forward = java_cacerts(b"".join(blocks))
    assert java_cacerts(b"".join(reversed(blocks))) == forward
    assert java_cacerts(b"".join(blocks + blocks[:3])) == forward  # repeats stored once
    assert java_cacerts(b"".join(blocks), timestamp_ms=1) != forward


def test_layout_and_digest(test_ca: bytes) -> None:
    store = java_cacerts([("debian:Test_CA.pem", test_ca)], timestamp_ms=1234)
    der = ssl.PEM_cert_to_DER_cert(test_ca.decode())
    alias = b"debian:test_ca.pem"
    expected_body = (
        b"\xfe\xed\xfe\xed" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big")
        + (2).to_bytes(4, "big") + len(alias).to_bytes(2, "big") + alias
        + (1234).to_bytes(8, "big") + b"\x00\x05X.509" + len(der).to_bytes(4, "big") + der
    )
    assert store[:-20] == expected_body
    key = "changeit".encode("utf-16-be") + b"Mighty Aphrodite"
    assert store[-20:] == hashlib.sha1(key + expected_body, usedforsecurity=False).digest()


def test_add_java_cacerts_writes_the_debian_path(test_ca: bytes) -> None:
    tree = FileTree()
    add_java_cacerts(tree, test_ca)
    entry = tree.get(JAVA_CACERTS_PATH)
    assert entry is not None and entry.mode == 0o644
    assert entry.data == java_cacerts(test_ca)


def test_a_pem_of_several_certificates_gets_numbered_aliases(
    system_bundle: bytes, tmp_path: Path
) -> None:
    two = b"".join(pem_blocks(system_bundle)[:2])
    store = java_cacerts([("chain", two)])
    assert b"\x00\x05chain" in store and b"\x00\x07chain-2" in store


def test_debian_alias() -> None:
    assert debian_alias("mozilla/ISRG_Root_X1.crt") == "debian:isrg_root_x1.pem"
    assert debian_alias("/etc/ssl/certs/ISRG_Root_X1.pem") == "debian:isrg_root_x1.pem"


@pytest.mark.parametrize(
    ("certs", "message"),
    [
        (b"no certificate here", "no PEM certificate"),
        ([("x", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")], "^x: "),
        ([("x", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")],
         "not a DER SEQUENCE"),
    ],
)
def test_bad_pem_is_a_format_error(certs: bytes | list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        java_cacerts(certs)


def test_two_certificates_under_one_alias_are_refused(system_bundle: bytes) -> None:
    first, second = pem_blocks(system_bundle)[:2]
    with pytest.raises(FormatError, match=r"'debian:a\.pem'"):
        java_cacerts([("debian:A.pem", first), ("debian:a.pem", second)])
    assert java_cacerts([("debian:A.pem", first), ("debian:a.pem", first)])
