"""A throw-away certificate authority and a server certificate, made with openssl."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class TestCA:
    """Files of a test CA and of a leaf it signed for 127.0.0.1 and localhost (and any
    other names asked for)."""

    __test__ = False  # not a test class, despite the name

    ca: Path
    ca_key: Path
    leaf: Path
    leaf_key: Path


def make_test_ca(folder: Path, *, names: tuple[str, ...] = ()) -> TestCA:
    """Create ``ca.pem``/``ca.key`` and ``leaf.pem``/``leaf.key`` in ``folder``; the leaf
    is also for the DNS ``names``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not installed (scripts/install-system-deps installs it)")
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        result = subprocess.run([openssl, *args], cwd=folder, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            pytest.fail(f"openssl {args[0]} failed: {result.stderr.strip()}")

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=distill test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    alt_names = ",".join(["IP:127.0.0.1", "DNS:localhost", *(f"DNS:{name}" for name in names)])
    (folder / "leaf.ext").write_text(
        f"subjectAltName={alt_names}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        encoding="ascii",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/CN=localhost")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "3650", "-extfile", "leaf.ext")
    return TestCA(ca=folder / "ca.pem", ca_key=folder / "ca.key", leaf=folder / "leaf.pem",
                  leaf_key=folder / "leaf.key")
