"""``distill sign`` and ``distill verify`` on an OCI layout, and their one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from distill.transports import oci_layout
from transports.conftest import build_image, write_layer

RunCli = Callable[..., Any]


def _keys(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "key.pem", folder / "key.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def _layout(tmp_path: Path) -> Path:
    image = build_image((write_layer(tmp_path / "layers", {"a": b"sign me\n"}),))
    path = tmp_path / "layout"
    oci_layout.write(image, path, tag="v1")
    return path


def test_sign_then_verify_a_layout(run_cli: RunCli, tmp_path: Path) -> None:
    private, public = _keys(tmp_path)
    layout = _layout(tmp_path)
    unsigned = run_cli("verify", f"oci:{layout}:v1", "--key", str(public))
    assert unsigned.code == 1 and unsigned.err.startswith("error: ") and "is not signed" \
        in unsigned.err
    signed = run_cli("sign", f"oci:{layout}:v1", "--key", str(private))
    assert signed.code == 0, signed.err
    assert signed.out.startswith("signed layout@sha256:")
    checked = run_cli("verify", f"oci:{layout}:v1", "--key", str(public))
    assert checked.code == 0, checked.err
    assert "1 signature(s)" in checked.out
    required = run_cli("verify", f"oci:{layout}:v1", "--key", str(public),
                       "--require-attestations")
    assert required.code == 1 and "has no attestation of type" in required.err


def test_errors_are_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    private, _ = _keys(tmp_path)
    layout = _layout(tmp_path)
    cases = [
        (("sign", f"docker-archive:{tmp_path / 'x.tar'}", "--key", str(private)),
         "signatures and referrers live in registries"),
        (("sign", f"oci:{layout}:v1", "--key", str(tmp_path / "absent.key")),
         "cannot read key"),
        (("verify", f"oci:{layout}:v1", "--key", str(layout / "index.json")),
         "not a PEM"),
    ]
    for args, message in cases:
        outcome = run_cli(*args)
        assert outcome.code == 1, args
        assert outcome.err.startswith("error: ") and outcome.err.count("\n") == 1, outcome.err
        assert message in outcome.err
    assert run_cli("sign", f"oci:{layout}:v1").code == 2  # --key is required
